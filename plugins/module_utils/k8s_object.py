# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading Kubernetes objects as the API returns them (plain dicts), shared by the collection's filters."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def field(obj, *path, default=None):
    """obj[path[0]][path[1]]..., or default where a step is missing or null (the API omits empty fields)."""
    for key in path:
        if not isinstance(obj, dict) or obj.get(key) is None:
            return default
        obj = obj[key]
    return obj
