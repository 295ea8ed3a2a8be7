"""neo4j_azure.aks.backup_retention against Azurite (a real Blob service), through ansible-playbook.

Crafted blob sets whose right answer is worked out by hand: check mode deletes nothing and announces exactly
what apply deletes; incomplete backups never count as kept; the newest complete backup survives a zero policy;
a second run is changed=false; state=list picks the latest complete backup (before a time); the connection
string never shows, even at -vvv; deletes go 256 per Blob Batch request (counted through a recording proxy).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_blob import BackupStore
from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import backup_name
from blob_recorder import BlobRecorder
from testenv_client import localhost_play, run_playbook

PREFIX = "neo4j-backups"


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("azurite")


@pytest.fixture()
def container(env):
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"])
    name = f"ret-{uuid.uuid4().hex[:12]}"
    client = service.create_container(name)
    yield client
    client.delete_container()


def stable_now():
    """Now, away from midnight UTC: the day windows must not move between crafting and pruning."""
    now = datetime.now(timezone.utc)
    seconds = now.hour * 3600 + now.minute * 60 + now.second
    if seconds < 180 or seconds > 86400 - 180:
        time.sleep((86400 - seconds + 200) % 86400)
        now = datetime.now(timezone.utc)
    return now.replace(microsecond=0)


def put(container, created, database="neo4j", environment="dev", complete=True):
    name = backup_name(PREFIX, environment, database, created)
    container.upload_blob(name, b"dump " + name.encode(), metadata={"backup_complete": "true"} if complete else None)
    return name


def blob_names(container):
    return sorted(b.name for b in container.list_blobs())


def prune(env, container_name, check=False, verbosity=0, json_output=True, **options):
    task = {"name": "Prune", "neo4j_azure.aks.backup_retention": {
        "container": container_name, "prefix": PREFIX, **options}, "register": "pruned"}
    return run_playbook(localhost_play([task]), env=env, check=check, diff=check, verbosity=verbosity,
                        json_output=json_output)


def test_keeps_and_deletes_exactly_the_right_blobs(env, container):
    now = stable_now()
    today = now.replace(hour=0, minute=0, second=0)
    day = {k: today - timedelta(days=k) for k in range(0, 8)}
    newest = put(container, now - timedelta(minutes=1))
    running = put(container, now - timedelta(minutes=1, seconds=30), complete=False)
    twice_a_day = {(k, h): put(container, day[k] + timedelta(hours=h)) for k in range(1, 7) for h in (1, 13)}
    failed = put(container, day[3] + timedelta(hours=20), complete=False)
    other_env = put(container, day[5], environment="prod")
    stray = f"{PREFIX}/dev/notes.txt"
    container.upload_blob(stray, b"not a backup")
    everything = blob_names(container)
    options = dict(environment="dev", keep_last=2, keep_daily=3, keep_weekly=0, incomplete_grace_hours=24)

    # last 2: newest + yesterday 13:00; daily 3 days: today, yesterday 13:00, two days ago 13:00.
    expected_kept = sorted([newest, twice_a_day[(1, 13)], twice_a_day[(2, 13)]])
    expected_deleted = sorted(n for (k, h), n in twice_a_day.items() if (k, h) not in ((1, 13), (2, 13)))
    # Both incomplete blobs were written seconds ago: the grace period runs from the last write, so both wait.
    expected_pending = sorted([running, failed])

    check = prune(env, container.container_name, check=True, **options)
    assert check.rc == 0, check
    result = check.task("Prune")
    assert result["changed"] is True
    assert sorted(result["deleted"]) == expected_deleted
    assert sorted(result["kept"]) == expected_kept
    assert sorted(result["pending"]) == expected_pending
    assert result["ignored"] == [stray]
    assert blob_names(container) == everything, "check mode deleted something"

    first = prune(env, container.container_name, **options)
    assert first.rc == 0, first
    applied = first.task("Prune")
    assert sorted(applied["deleted"]) == expected_deleted and sorted(applied["kept"]) == expected_kept
    assert blob_names(container) == sorted(set(everything) - set(expected_deleted))
    assert other_env in blob_names(container) and stray in blob_names(container)

    second = prune(env, container.container_name, **options)
    assert second.rc == 0, second
    assert second.task("Prune")["changed"] is False
    assert second.task("Prune")["deleted"] == []

    # Past the grace period the incomplete blobs go, and only they: they were never counted as kept.
    time.sleep(1.1)
    no_grace = {**options, "incomplete_grace_hours": 0}
    third = prune(env, container.container_name, **no_grace)
    assert third.rc == 0, third
    assert sorted(third.task("Prune")["deleted"]) == expected_pending
    assert sorted(third.task("Prune")["kept"]) == expected_kept


def test_deletes_go_in_batches_of_256(env, container):
    """600 backups past every window: 599 go in 3 batch requests (256 + 256 + 87) instead of 599 deletes; check
    mode sends no delete at all; the second run lists once and deletes nothing."""
    now = stable_now()
    names = [put(container, now - timedelta(days=60, minutes=i)) for i in range(600)]
    options = dict(environment="dev", keep_last=1, keep_daily=0, keep_weekly=0)
    with BlobRecorder(env["AZURE_STORAGE_CONNECTION_STRING"]) as blob:
        recorded = {**env, **blob.env}
        check = prune(recorded, container.container_name, check=True, **options)
        assert check.rc == 0, check
        assert len(check.task("Prune")["deleted"]) == 599
        assert blob.counts() == {"total": 1, "list": 1, "batch": 0, "delete": 0, "unanswered": 0}
        assert len(blob_names(container)) == 600, "check mode deleted something"

        mark = blob.mark()
        first = prune(recorded, container.container_name, **options)
        assert first.rc == 0, first
        assert first.task("Prune")["changed"] is True and len(first.task("Prune")["deleted"]) == 599
        assert blob.counts(mark) == {"total": 4, "list": 1, "batch": 3, "delete": 0, "unanswered": 0}
        assert blob_names(container) == [names[0]]

        mark = blob.mark()
        second = prune(recorded, container.container_name, **options)
        assert second.rc == 0, second
        assert second.task("Prune")["changed"] is False and second.task("Prune")["deleted"] == []
        assert blob.counts(mark) == {"total": 1, "list": 1, "batch": 0, "delete": 0, "unanswered": 0}


def test_a_blob_rewritten_after_listing_is_left(env, container):
    """The batch subrequests carry the listed ETag: a blob rewritten in between stays, with a warning."""
    from azure.storage.blob import ContainerClient

    now = stable_now()
    keep = put(container, now - timedelta(days=60))
    old = put(container, now - timedelta(days=61))
    store_container = ContainerClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"],
                                                             container.container_name)
    listed = {b.name: b.etag for b in store_container.list_blobs(include=["metadata"])}
    container.upload_blob(old, b"rewritten", overwrite=True, metadata={"backup_complete": "true"})
    deleted, left, warnings = BackupStore(store_container, PREFIX).delete_all([(old, listed[old])])
    assert deleted == [] and warnings == [] and "changed since it was listed" in left[old]
    assert blob_names(container) == sorted([keep, old])


def test_incomplete_never_kept_and_newest_complete_never_deleted(env, container):
    now = stable_now()
    old_complete = put(container, now - timedelta(days=40), database="movies")
    older_complete = put(container, now - timedelta(days=41), database="movies")
    newer_incomplete = put(container, now - timedelta(days=2), database="movies", complete=False)
    options = dict(keep_last=0, keep_daily=0, keep_weekly=0, incomplete_grace_hours=0)
    time.sleep(1.1)  # the grace period (0 h) runs from the blob's last write, at one-second resolution

    result = prune(env, container.container_name, **options)
    assert result.rc == 0, result
    task = result.task("Prune")
    assert task["kept"] == [old_complete]
    assert sorted(task["deleted"]) == sorted([older_complete, newer_incomplete])
    assert blob_names(container) == [old_complete]
    assert [b["reasons"] for b in task["backups"] if b["name"] == old_complete] == [["newest complete backup"]]


def test_list_picks_latest_complete_before_a_time(env, container):
    now = stable_now()
    first = put(container, now - timedelta(days=3))
    second = put(container, now - timedelta(days=2))
    put(container, now - timedelta(days=1), complete=False)
    task = {"name": "List", "neo4j_azure.aks.backup_info": {
        "container": container.container_name, "prefix": PREFIX, "environment": "dev",
        "databases": ["neo4j"]}}
    result = run_playbook(localhost_play([task]), env=env)
    assert result.rc == 0, result
    listed = result.task("List")
    assert listed["changed"] is False
    assert listed["latest"]["dev/neo4j"]["name"] == second
    assert len(listed["backups"]) == 3

    task["neo4j_azure.aks.backup_info"]["before"] = (now - timedelta(days=2, hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    result = run_playbook(localhost_play([task]), env=env)
    assert result.task("List")["latest"]["dev/neo4j"]["name"] == first
    assert len(blob_names(container)) == 3


def test_missing_container_is_no_backups(env):
    result = prune(env, f"missing-{uuid.uuid4().hex[:8]}")
    assert result.rc == 0, result
    assert result.task("Prune")["container_exists"] is False
    assert result.task("Prune")["changed"] is False


def test_connection_string_never_printed(env, container):
    put(container, datetime.now(timezone.utc) - timedelta(days=30))
    put(container, datetime.now(timezone.utc) - timedelta(days=31))
    result = prune(env, container.container_name, verbosity=3, json_output=False, keep_last=1, keep_daily=0,
                   keep_weekly=0)
    assert result.rc == 0, result.stdout[-3000:]
    key = env["AZURE_STORAGE_KEY"]
    assert key not in result.stdout and key not in result.stderr
    assert env["AZURE_STORAGE_CONNECTION_STRING"] not in result.stdout


def test_bad_auth_fails_with_a_message(env):
    task = {"name": "Prune", "neo4j_azure.aks.backup_retention": {"container": "x"}}
    no_storage = {k: v for k, v in env.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    import os

    saved = os.environ.pop("AZURE_STORAGE_CONNECTION_STRING", None)
    try:
        result = run_playbook(localhost_play([task]), env=no_storage)
    finally:
        if saved is not None:
            os.environ["AZURE_STORAGE_CONNECTION_STRING"] = saved
    assert result.rc != 0
    assert "connection_string" in result.task("Prune")["msg"]
