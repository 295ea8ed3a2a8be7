# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backups in an Azure Blob container: listing and pruning (azure-storage-blob).

Auth: a connection string, or an account URL with the collection's azure-identity credential
(module_utils/azure.py). SDK errors become AzureOpError in one place (azure.to_op_error).

Pruning deletes through the Blob service's batch API: up to BATCH_LIMIT deletes in one request, each still
conditional on the ETag the listing saw. An account that refuses batches (HTTP error on the batch request itself)
is served one delete per request.
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
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceModifiedError, ResourceNotFoundError
    from azure.storage.blob import ContainerClient
except ImportError:  # pragma: no cover - reported by BackupStore.from_params
    BLOB_IMPORT_ERROR = traceback.format_exc()

    class AzureError(Exception):
        """Stand-in so the except clauses below stay valid without the SDK."""

    class HttpResponseError(AzureError):
        """Stand-in (SDK missing)."""

    class ResourceModifiedError(AzureError):
        """Stand-in (SDK missing)."""

    class ResourceNotFoundError(AzureError):
        """Stand-in (SDK missing)."""

# The Blob service takes at most 256 subrequests in one batch request.
BATCH_LIMIT = 256
CHANGED_SINCE_LISTED = "changed since it was listed (an upload finishing?); left for the next run"
ALREADY_GONE = "already gone"


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

    def delete_all(self, blobs):
        """Delete the listed (name, etag) pairs, each only if unchanged since listed, BATCH_LIMIT per Blob Batch
        request. Returns (deleted names, {name: why left}, warnings); raises AzureOpError naming each blob the service
        refused to delete for another reason, with the deleted names in its details."""
        deleted, left, refused, warnings = [], {}, [], []
        use_batch = True
        for start in range(0, len(blobs), BATCH_LIMIT):
            chunk = blobs[start:start + BATCH_LIMIT]
            outcomes = self._delete_batch(chunk, warnings) if use_batch else None
            if outcomes is None:  # the account refused batch requests: one delete a blob from here on
                use_batch = False
                outcomes = [self._delete_one(name, etag) for name, etag in chunk]
            for (name, _etag), (outcome, why) in zip(chunk, outcomes):
                if outcome == "deleted":
                    deleted.append(name)
                elif outcome == "left":
                    left[name] = why
                else:
                    refused.append("%s (%s)" % (name, why))
        if refused:
            raise AzureOpError("the Blob service refused to delete %d backup(s) of container %s: %s (%d deleted)"
                               % (len(refused), self.container.container_name, "; ".join(refused), len(deleted)),
                               code="DeleteRefused", deleted=deleted)
        return deleted, left, warnings

    def _delete_batch(self, chunk, warnings):
        """One Blob Batch request; per blob (outcome, why). None when the service refused the batch request itself
        (an account without Blob Batch support, for example): the caller then deletes one blob per request."""
        try:
            parts = list(self.container.delete_blobs(
                *[dict(name=name, etag=etag, match_condition=MatchConditions.IfNotModified,
                       delete_snapshots="include") for name, etag in chunk],
                raise_on_any_failure=False))
        except HttpResponseError as err:
            warnings.append("the Blob service refused a batch delete request (HTTP %s %s): deleting one blob per "
                            "request instead" % (err.status_code, getattr(err, "error_code", None) or err.reason))
            return None
        except AzureError as err:
            raise to_op_error(err, "deleting %d blobs of container %s" % (len(chunk), self.container.container_name))
        if len(parts) != len(chunk):
            warnings.append("the Blob service answered %d of %d deletes of a batch request: deleting one blob per "
                            "request instead" % (len(parts), len(chunk)))
            return None
        return [_part_outcome(part) for part in parts]

    def _delete_one(self, name, etag):
        """Delete one blob (and its snapshots) unless it changed since listed: (outcome, why)."""
        try:
            self.container.delete_blob(name, delete_snapshots="include", etag=etag,
                                       match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            return "left", CHANGED_SINCE_LISTED
        except ResourceNotFoundError:
            return "left", ALREADY_GONE
        except HttpResponseError as err:
            return "refused", "HTTP %s %s" % (err.status_code, getattr(err, "error_code", None) or err.reason)
        except AzureError as err:
            raise to_op_error(err, "deleting blob %s" % name)
        return "deleted", None


def _part_outcome(part):
    """(outcome, why) of one delete subrequest of a batch, as _delete_one decides for a single delete."""
    if 200 <= part.status_code < 300:
        return "deleted", None
    code = part.headers.get("x-ms-error-code") or part.reason
    if part.status_code == 404:
        return "left", ALREADY_GONE
    if part.status_code == 412 and code in ("ConditionNotMet", None, ""):
        return "left", CHANGED_SINCE_LISTED
    return "refused", "HTTP %s %s" % (part.status_code, code)


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
    if check_mode:
        deleted, warnings = [b.name for b in decision.deleted], []
    else:
        deleted, left, warnings = store.delete_all([(b.name, etags[b.name]) for b in decision.deleted])
        warnings += ["%s not deleted: %s" % (name, why) for name, why in left.items()]
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
