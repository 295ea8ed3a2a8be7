#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_retention
short_description: List Neo4j backups in an Azure Blob container and prune them by a retention policy
version_added: 0.1.0
description:
  - Lists the Neo4j backups that the C(neo4j_azure.aks.backup) role writes to a Blob container, groups them per
    environment and database, and deletes those that the retention policy does not keep.
  - "Blob names follow C(<prefix>/<environment>/<database>/<database>-<yyyymmddTHHMMSSZ>.dump) (Community
    C(neo4j-admin database dump)) or C(.backup) (Enterprise full C(neo4j-admin database backup)); the timestamp
    is the UTC start of the backup. A backup is complete only when its blob has the metadata
    C(backup_complete=true), which the backup script sets after the upload succeeded. Other blobs under
    O(prefix) are returned in RV(ignored) and never deleted."
  - "Per database, the policy keeps the newest O(keep_last) complete backups, the newest complete backup of each
    UTC day for the O(keep_daily) days ending today, the newest complete backup of each ISO week (Monday to
    Sunday, UTC) for the O(keep_weekly) weeks ending this week, and always the newest complete backup, so no
    database is ever left without one. Incomplete backups are never counted as kept; they are deleted once
    older than O(incomplete_grace_hours) (from the later of the name's timestamp and the blob's last write)."
  - M(neo4j_azure.aks.backup_info) lists the backups without deleting anything.
  - Each blob is deleted only if it has not changed since it was listed (ETag condition).
  - "Deletes go to the Blob service in batch requests (Blob Batch), up to 256 blobs per request, so pruning N backups
    costs about N / 256 delete requests. An account that refuses a batch request gets one delete request per blob
    from then on, with a warning."
  - A blob the service refuses to delete for another reason than a changed ETag or its absence (a lease, missing
    permission) fails the task after every other delete was tried; the failure names each such blob and returns
    RV(deleted).
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.azure
  - neo4j_azure.aks.backup_storage
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: Lists what would be deleted in RV(deleted) and deletes nothing.
  diff_mode:
    support: full
    details: The backup names before and after pruning.
options:
  keep_last:
    description: Number of newest complete backups kept per database.
    type: int
    default: 7
  keep_daily:
    description: Number of UTC days, ending today, for which the newest complete backup of the day is kept.
    type: int
    default: 7
  keep_weekly:
    description: Number of ISO weeks, ending this week, for which the newest complete backup of the week is kept.
    type: int
    default: 4
  incomplete_grace_hours:
    description:
      - Age in hours after which an incomplete backup (no C(backup_complete=true) metadata) is deleted.
      - Set it above the longest backup run, so an upload in progress is never removed.
    type: int
    default: 24
notes:
  - Without O(account_url) and O(connection_string) (nor E(AZURE_STORAGE_CONNECTION_STRING)) the module fails.
"""

EXAMPLES = r"""
- name: Prune the backups of prod (Entra ID auth, for example workload identity in AWX)
  neo4j_azure.aks.backup_retention:
    account_url: https://neo4jprodbackups.blob.core.windows.net
    container: neo4j-backups
    environment: prod
    keep_last: 7
    keep_daily: 14
    keep_weekly: 8

- name: What would go (connection string from AZURE_STORAGE_CONNECTION_STRING)
  neo4j_azure.aks.backup_retention:
    container: neo4j-backups
    keep_last: 3
  check_mode: true
"""

RETURN = r"""
kept:
  description: Names of the complete backups the policy keeps.
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the backups deleted (in check mode, that would be deleted).
  returned: always, also when a delete was refused
  type: list
  elements: str
pending:
  description: Names of incomplete backups younger than O(incomplete_grace_hours), left alone and not counted as kept.
  returned: always
  type: list
  elements: str
ignored:
  description: Blobs under O(prefix) whose names do not follow the convention; never deleted.
  returned: always
  type: list
  elements: str
container_exists:
  description: Whether the container exists (a missing container holds no backups).
  returned: always
  type: bool
backups:
  description: Every backup found (oldest first), each with the reasons of the decision.
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
    reasons:
      description: Why the backup is kept or deleted.
      type: list
      elements: str
"""

from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_blob import (
    BackupStore,
    prune,
    retention_argument_spec,
)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def main():
    module = AnsibleModule(argument_spec=retention_argument_spec(), supports_check_mode=True)

    def work():
        result, warnings = prune(BackupStore.from_params(module.params), module.params, module.check_mode,
                                 datetime.now(timezone.utc))
        for warning in warnings:
            module.warn(warning)
        return result

    run_module(module, work)


if __name__ == "__main__":
    main()
