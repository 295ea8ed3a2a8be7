#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_info
short_description: List Neo4j backups in an Azure Blob container and find the latest complete one
version_added: 0.1.0
description:
  - Lists the Neo4j backups that the C(neo4j_azure.aks.backup) role writes to a Blob container (the naming
    convention is described in M(neo4j_azure.aks.backup_retention)) and returns, per environment and database,
    the latest complete backup, optionally the latest taken at or before O(before). Deletes nothing.
  - Incomplete backups (no C(backup_complete=true) metadata) are listed but never returned as the latest.
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.azure
  - neo4j_azure.aks.backup_storage
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
options:
  before:
    description:
      - Only backups taken at or before this UTC time (ISO 8601 such as C(2025-01-31T23:00:00Z), or
        C(20250131T230000Z)).
    type: str
notes:
  - Without O(account_url) and O(connection_string) (nor E(AZURE_STORAGE_CONNECTION_STRING)) the module fails.
"""

EXAMPLES = r"""
- name: Latest complete backup of database neo4j taken before an incident
  neo4j_azure.aks.backup_info:
    account_url: https://neo4jprodbackups.blob.core.windows.net
    container: neo4j-backups
    environment: prod
    databases: [neo4j]
    before: "2025-03-01T08:00:00Z"
  register: found

- name: Show it
  ansible.builtin.debug:
    msg: "{{ found.latest['prod/neo4j'].name }}"
"""

RETURN = r"""
backups:
  description: The backups found (oldest first), taken at or before O(before) when set.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Blob name.
      type: str
    environment:
      description: Environment segment of the name.
      type: str
    database:
      description: Database name.
      type: str
    created:
      description: UTC time of the backup, from its name (ISO 8601).
      type: str
    complete:
      description: Whether the blob is marked C(backup_complete=true).
      type: bool
    kind:
      description: C(dump) (Community dump) or C(backup) (Enterprise backup artifact).
      type: str
    size:
      description: Blob size in bytes.
      type: int
latest:
  description: Latest complete backup per C(<environment>/<database>); each value has the keys of RV(backups).
  returned: always
  type: dict
  sample:
    prod/neo4j:
      name: neo4j-backups/prod/neo4j/neo4j-20250301T020000Z.dump
      environment: prod
      database: neo4j
      created: "2025-03-01T02:00:00Z"
      complete: true
      kind: dump
      size: 1048576
ignored:
  description: Blobs under O(prefix) whose names do not follow the convention.
  returned: always
  type: list
  elements: str
container_exists:
  description: Whether the container exists (a missing container holds no backups).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_blob import (
    BackupStore,
    info_argument_spec,
    list_backups,
)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def main():
    module = AnsibleModule(argument_spec=info_argument_spec(), supports_check_mode=True)
    run_module(module, lambda: list_backups(BackupStore.from_params(module.params), module.params))


if __name__ == "__main__":
    main()
