# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Where the backups live in Blob storage, shared by backup_info and backup_retention
    (neo4j_azure.aks.backup_storage)."""

    DOCUMENTATION = r"""
options:
  connection_string:
    description:
      - Storage account connection string. Never logged. Meant for tests (Azurite) and accounts without Entra
        ID; prefer O(account_url) with Entra ID auth.
      - Falls back to the E(AZURE_STORAGE_CONNECTION_STRING) environment variable.
      - Ignored when O(account_url) is set.
    type: str
  account_url:
    description:
      - Blob endpoint of the storage account, for example C(https://mystorage.blob.core.windows.net).
      - Authenticates with Entra ID through the Azure auth options. Listing needs the
        C(Storage Blob Data Reader) role on the account or container, deleting C(Storage Blob Data Contributor).
    type: str
  container:
    description: Blob container holding the backups.
    type: str
    required: true
  prefix:
    description: Name prefix (virtual folder) under which the backups are written; empty for the container root.
    type: str
    default: neo4j-backups
  environment:
    description: Only the backups of this environment (the path segment after O(prefix)); all when omitted.
    type: str
  databases:
    description: Only the backups of these databases; all when omitted.
    type: list
    elements: str
requirements:
  - azure-storage-blob >= 12.20
"""
