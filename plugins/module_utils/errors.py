# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one error path of the collection's modules.

Every domain error (AzureOpError, Neo4jOpError, HealthError) is a ``ModuleError``: a message and the result keys
that go with it (``details``, never secrets). ``run_module`` is the one place that turns one into ``fail_json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleError(Exception):
    """A failure a module reports: ``message`` for msg, ``details`` for the other result keys."""

    def __init__(self, message, **details):
        super(ModuleError, self).__init__(message)
        self.message = message
        self._details = details

    @property
    def details(self):
        return dict(self._details)


def run_module(module, work):
    """exit_json with what work() returns; a ModuleError fails the task with its message and details."""
    try:
        result = work()
    except ModuleError as err:
        module.fail_json(msg=err.message, **err.details)
    module.exit_json(**result)
