"""backup_blob: listing and pruning backups through a fake ContainerClient (no network): what is listed and
ignored, the latest complete backup, deletes guarded by the listed ETag and sent 256 per batch request (one per
blob when the account refuses batches), check mode deleting nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import backup_blob as bb
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError

pytest.importorskip("azure.storage.blob")

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def blob(name, complete=True, etag=None):
    return SimpleNamespace(name=name, metadata={"backup_complete": "true"} if complete else {},
                           last_modified=NOW, size=1024, etag=etag or '"%s"' % name)


def dump(env, db, stamp, **kw):
    return blob("neo4j-backups/%s/%s/%s-%s.dump" % (env, db, db, stamp), **kw)


class FakeContainer:
    container_name = "backups"

    def __init__(self, blobs, missing=False, modified=(), leased=(), refuse_batches=False):
        self.blobs = {b.name: b for b in blobs}
        self.missing = missing
        self.modified = set(modified)  # names whose ETag no longer matches
        self.leased = set(leased)  # names a lease holds
        self.refuse_batches = refuse_batches  # an account without Blob Batch support
        self.listed_with = None
        self.deleted = []
        self.batches = []  # subrequests per batch request
        self.single_deletes = 0

    def list_blobs(self, name_starts_with=None, include=None):
        self.listed_with = (name_starts_with, include)
        if self.missing:
            raise bb.ResourceNotFoundError("ContainerNotFound")
        return [b for n, b in sorted(self.blobs.items()) if n.startswith(name_starts_with or "")]

    def delete_blob(self, name, delete_snapshots=None, etag=None, match_condition=None):
        assert delete_snapshots == "include" and match_condition is not None
        self.single_deletes += 1
        status, code = self._delete(name, etag)
        if code == "ConditionNotMet":  # the SDK's mapping: other 412 codes (a lease) stay HttpResponseError
            raise bb.ResourceModifiedError("ConditionNotMet")
        if status == 404:
            raise bb.ResourceNotFoundError("BlobNotFound")
        if status >= 400:
            error = bb.HttpResponseError("refused")
            error.status_code, error.error_code = status, code
            raise error

    def delete_blobs(self, *blobs, raise_on_any_failure=True):
        assert raise_on_any_failure is False
        assert len(blobs) <= bb.BATCH_LIMIT, "more subrequests than a batch request takes"
        if self.refuse_batches:
            error = bb.HttpResponseError("batch refused")
            error.status_code, error.error_code = 400, "InvalidInput"
            raise error
        self.batches.append(len(blobs))
        parts = []
        for spec in blobs:
            assert spec["delete_snapshots"] == "include" and spec["match_condition"] is not None
            status, code = self._delete(spec["name"], spec["etag"])
            parts.append(SimpleNamespace(status_code=status, reason="", headers={"x-ms-error-code": code} if code
                                         else {}))
        return iter(parts)

    def _delete(self, name, etag):
        if name in self.leased:
            return 412, "LeaseIdMissing"
        if name in self.modified:
            return 412, "ConditionNotMet"
        if name not in self.blobs:
            return 404, "BlobNotFound"
        assert etag == self.blobs[name].etag
        del self.blobs[name]
        self.deleted.append(name)
        return 202, None


def params(**kw):
    out = {"environment": None, "databases": None, "before": None, "prefix": "neo4j-backups",
           "keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "incomplete_grace_hours": 24}
    out.update(kw)
    return out


BLOBS = [dump("prod", "neo4j", "20261128T020000Z"), dump("prod", "neo4j", "20261130T020000Z"),
         dump("prod", "neo4j", "20261201T020000Z", complete=False), dump("prod", "system", "20261130T020000Z"),
         dump("dev", "neo4j", "20261130T020000Z"), blob("neo4j-backups/prod/neo4j/notes.txt")]


def test_listing_names_the_latest_complete_per_environment_and_database():
    container = FakeContainer(BLOBS)
    result = bb.list_backups(bb.BackupStore(container, "neo4j-backups"), params())
    assert result["changed"] is False and result["container_exists"] is True
    assert result["ignored"] == ["neo4j-backups/prod/neo4j/notes.txt"]
    assert sorted(result["latest"]) == ["dev/neo4j", "prod/neo4j", "prod/system"]
    # the newer, incomplete backup is listed but never the latest
    assert result["latest"]["prod/neo4j"]["name"].endswith("neo4j-20261130T020000Z.dump")
    assert any(b["name"].endswith("20261201T020000Z.dump") and not b["complete"] for b in result["backups"])
    assert container.listed_with == ("neo4j-backups/", ["metadata"])


def test_environment_databases_and_before_narrow_the_listing():
    container = FakeContainer(BLOBS)
    result = bb.list_backups(bb.BackupStore(container, "neo4j-backups"),
                             params(environment="prod", databases=["neo4j"], before="2026-11-29T00:00:00Z"))
    assert container.listed_with[0] == "neo4j-backups/prod/"
    assert [b["name"] for b in result["backups"]] == ["neo4j-backups/prod/neo4j/neo4j-20261128T020000Z.dump"]
    assert list(result["latest"]) == ["prod/neo4j"]


def test_a_bad_before_names_the_option():
    with pytest.raises(AzureOpError) as err:
        bb.list_backups(bb.BackupStore(FakeContainer(BLOBS), "neo4j-backups"), params(before="yesterday"))
    assert err.value.option == "before"


def test_a_missing_container_holds_no_backups():
    result = bb.list_backups(bb.BackupStore(FakeContainer([], missing=True), "neo4j-backups"), params())
    assert result["container_exists"] is False and result["backups"] == [] and result["latest"] == {}


def test_prune_in_check_mode_deletes_nothing():
    container = FakeContainer(BLOBS)
    result, warnings = bb.prune(bb.BackupStore(container, "neo4j-backups"), params(environment="prod"),
                                check_mode=True, now=NOW)
    assert result["changed"] is True and container.deleted == [] and warnings == []
    assert "neo4j-backups/prod/neo4j/neo4j-20261128T020000Z.dump" in result["deleted"]
    assert "neo4j-backups/prod/neo4j/neo4j-20261201T020000Z.dump" in result["pending"]  # inside the grace period


def test_prune_deletes_what_the_policy_drops_then_converges():
    container = FakeContainer(BLOBS)
    store = bb.BackupStore(container, "neo4j-backups")
    result, _deleted = bb.prune(store, params(environment="prod"), check_mode=False, now=NOW)
    assert container.deleted == result["deleted"] == ["neo4j-backups/prod/neo4j/neo4j-20261128T020000Z.dump"]
    assert result["diff"]["before"]["backups"] != result["diff"]["after"]["backups"]
    again, _deleted = bb.prune(store, params(environment="prod"), check_mode=False, now=NOW)
    assert again["changed"] is False and again["deleted"] == []


def test_a_blob_changed_since_listed_is_left_with_a_warning():
    old = "neo4j-backups/prod/neo4j/neo4j-20261128T020000Z.dump"
    container = FakeContainer(BLOBS, modified=[old])
    result, warnings = bb.prune(bb.BackupStore(container, "neo4j-backups"), params(environment="prod"),
                                check_mode=False, now=NOW)
    assert result["changed"] is False and result["deleted"] == []
    assert warnings == ["%s not deleted: changed since it was listed (an upload finishing?); left for the next "
                        "run" % old]


def many_old_backups(count):
    stamps = ["2026%02d%02dT%02d%02d00Z" % (1 + i // (28 * 24 * 60) % 12, 1 + i // (24 * 60) % 28, i // 60 % 24, i % 60)
              for i in range(count)]
    return [dump("prod", "neo4j", stamp) for stamp in stamps]


def test_deletes_go_256_per_batch_request():
    container = FakeContainer(many_old_backups(601))
    result, warnings = bb.prune(bb.BackupStore(container, "neo4j-backups"), params(environment="prod"),
                                check_mode=False, now=NOW)
    assert warnings == [] and len(result["deleted"]) == 600 and len(result["kept"]) == 1
    assert container.batches == [256, 256, 88] and container.single_deletes == 0
    assert sorted(container.deleted) == sorted(result["deleted"])


def test_an_account_refusing_batches_gets_one_delete_per_blob():
    container = FakeContainer(many_old_backups(300), refuse_batches=True)
    result, warnings = bb.prune(bb.BackupStore(container, "neo4j-backups"), params(environment="prod"),
                                check_mode=False, now=NOW)
    assert len(result["deleted"]) == 299 and container.single_deletes == 299 and container.batches == []
    assert warnings == ["the Blob service refused a batch delete request (HTTP 400 InvalidInput): deleting one blob "
                        "per request instead"]


@pytest.mark.parametrize("refuse_batches", [False, True])
def test_a_refused_delete_fails_after_the_others_naming_it(refuse_batches):
    backups = many_old_backups(5)
    leased = backups[1].name
    container = FakeContainer(backups, leased=[leased], refuse_batches=refuse_batches)
    with pytest.raises(AzureOpError) as err:
        bb.prune(bb.BackupStore(container, "neo4j-backups"), params(environment="prod"), check_mode=False, now=NOW)
    assert "%s (HTTP 412 LeaseIdMissing)" % leased in str(err.value) and err.value.code == "DeleteRefused"
    assert sorted(err.value.details["deleted"]) == sorted(b.name for b in backups[:4] if b.name != leased)
    assert sorted(container.deleted) == sorted(err.value.details["deleted"])


@pytest.mark.parametrize("option", ["keep_last", "keep_daily", "keep_weekly", "incomplete_grace_hours"])
def test_negative_policy_values_name_the_option(option):
    with pytest.raises(AzureOpError) as err:
        bb.prune(bb.BackupStore(FakeContainer(BLOBS), "neo4j-backups"), params(**{option: -1}), True, NOW)
    assert err.value.option == option


def test_storage_location_is_required():
    with pytest.raises(AzureOpError) as err:
        bb.BackupStore.from_params({"account_url": None, "connection_string": None, "container": "c",
                                    "prefix": "neo4j-backups"})
    assert err.value.option == "account_url"
