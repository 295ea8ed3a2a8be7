# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backups in an Azure Blob container: listing and pruning (azure-storage-blob).

Auth: a connection string, or an account URL with the collection's azure-identity credential
(module_utils/azure.py). SDK errors become AzureOpError in one place (azure.to_op_error).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback
from datetime import timedelta

from ansible.module_utils.basic import env_fallback

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (
    RETRY_SETTINGS,
    AzureOpError,
    azure_auth_argument_spec,
    azure_credential,
    to_op_error,
)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import (
    DEFAULT_PREFIX,
    Policy,
    backup_info,
    decide,
    latest_complete,
    listing_prefix,
    parse_timestamp,
    to_backup,
)

BLOB_IMPORT_ERROR = None
try:
    from azure.core import MatchConditions
    from azure.core.exceptions import AzureError, ResourceModifiedError, ResourceNotFoundError
    from azure.storage.blob import ContainerClient
except ImportError:  # pragma: no cover - reported by BackupStore.from_params
    BLOB_IMPORT_ERROR = traceback.format_exc()

    class AzureError(Exception):
        """Stand-in so the except clauses below stay valid without the SDK."""

    class ResourceModifiedError(AzureError):
        """Stand-in (SDK missing)."""

    class ResourceNotFoundError(AzureError):
        """Stand-in (SDK missing)."""


def storage_argument_spec():
    """Auth + where the backups are: the options of backup_info (and of backup_retention)."""
    spec = azure_auth_argument_spec()
    spec.update(
        connection_string=dict(type="str", no_log=True,
                               fallback=(env_fallback, ["AZURE_STORAGE_CONNECTION_STRING"])),
        account_url=dict(type="str"),
        container=dict(type="str", required=True),
        prefix=dict(type="str", default=DEFAULT_PREFIX),
        environment=dict(type="str"),
        databases=dict(type="list", elements="str"),
    )
    return spec


def retention_argument_spec():
    """The backup_retention module's options."""
    spec = storage_argument_spec()
    spec.update(
        keep_last=dict(type="int", default=7),
        keep_daily=dict(type="int", default=7),
        keep_weekly=dict(type="int", default=4),
        incomplete_grace_hours=dict(type="int", default=24),
    )
    return spec


def info_argument_spec():
    """The backup_info module's options."""
    spec = storage_argument_spec()
    spec.update(before=dict(type="str"))
    return spec


class BackupStore:
    """The backups in one container, seen through the naming convention."""

    def __init__(self, container_client, prefix):
        self.container = container_client
        self.prefix = prefix

    @classmethod
    def from_params(cls, params):
        if BLOB_IMPORT_ERROR:
            raise AzureOpError("azure-storage-blob is not installed (pip install -r requirements.txt)")
        if params.get("account_url"):
            client = ContainerClient(params["account_url"], params["container"],
                                     credential=azure_credential(params), **RETRY_SETTINGS)
        elif params.get("connection_string"):
            client = ContainerClient.from_connection_string(params["connection_string"], params["container"],
                                                            **RETRY_SETTINGS)
        else:
            raise AzureOpError("set account_url (with the Azure auth options) or connection_string "
                               "(or AZURE_STORAGE_CONNECTION_STRING)", code="MissingStorage",
                               option="account_url")
        return cls(client, params["prefix"])

    def list(self, environment=None, databases=None):
        """(backups, ignored names); a container that does not exist holds no backups."""
        backups, ignored = [], []
        try:
            blobs = list(self.container.list_blobs(name_starts_with=listing_prefix(self.prefix, environment),
                                                   include=["metadata"]))
        except ResourceNotFoundError:
            return None, []
        except AzureError as err:
            raise to_op_error(err, "listing blobs of container %s" % self.container.container_name)
        for blob in blobs:
            backup = to_backup(blob.name, self.prefix, blob.metadata, blob.last_modified, blob.size)
            if backup is None:
                ignored.append(blob.name)
                continue
            if not databases or backup.database in databases:
                backups.append((backup, blob.etag))
        return backups, ignored

    def delete(self, name, etag):
        """Delete a blob (and its snapshots) unless it changed since listed; returns why not, or None."""
        try:
            self.container.delete_blob(name, delete_snapshots="include", etag=etag,
                                       match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            return "changed since it was listed (an upload finishing?); left for the next run"
        except ResourceNotFoundError:
            return "already gone"
        except AzureError as err:
            raise to_op_error(err, "deleting blob %s" % name)
        return None


def _policy(params):
    for option in ("keep_last", "keep_daily", "keep_weekly", "incomplete_grace_hours"):
        if params[option] < 0:
            raise AzureOpError("%s must be 0 or more (got %d)" % (option, params[option]), code="InvalidOption",
                               option=option)
    return Policy(params["keep_last"], params["keep_daily"], params["keep_weekly"],
                  timedelta(hours=params["incomplete_grace_hours"]))


def list_backups(store, params):
    """backup_info: the backups (at or before `before`) and the latest complete one per database."""
    found, ignored = store.list(params.get("environment"), params.get("databases"))
    backups = [backup for backup, _etag in found or []]
    before = None
    if params.get("before"):
        try:
            before = parse_timestamp(params["before"])
        except ValueError as err:
            raise AzureOpError(str(err), code="InvalidOption", option="before")
        backups = [b for b in backups if b.created <= before]
    latest = latest_complete(backups, before)
    return dict(
        changed=False,
        container_exists=found is not None,
        ignored=ignored,
        backups=[backup_info(b) for b in sorted(backups, key=lambda b: (b.created, b.name))],
        latest={"%s/%s" % key: backup_info(b) for key, b in sorted(latest.items())},
    )


def prune(store, params, check_mode, now):
    """backup_retention: delete what the policy does not keep. Returns (result, warnings)."""
    found, ignored = store.list(params.get("environment"), params.get("databases"))
    result = dict(changed=False, container_exists=found is not None, ignored=ignored)
    found = found or []
    backups = [backup for backup, _etag in found]
    decision = decide(backups, _policy(params), now)
    etags = {backup.name: etag for backup, etag in found}
    deleted, warnings = [], []
    for backup in decision.deleted:
        if check_mode:
            deleted.append(backup.name)
            continue
        why_not = store.delete(backup.name, etags[backup.name])
        if why_not:
            warnings.append("%s not deleted: %s" % (backup.name, why_not))
        else:
            deleted.append(backup.name)
    result.update(
        changed=bool(deleted),
        kept=[b.name for b in decision.kept],
        deleted=deleted,
        pending=[b.name for b in decision.pending],
        backups=[backup_info(b, decision.reasons[b.name]) for b in
                 sorted(decision.kept + decision.deleted + decision.pending, key=lambda b: (b.created, b.name))],
        diff=dict(before=dict(backups=sorted(b.name for b in backups)),
                  after=dict(backups=sorted(set(b.name for b in backups) - set(deleted)))),
    )
    return result, warnings
