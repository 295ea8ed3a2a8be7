"""The retention policy and the naming convention of backups (pure code: crafted sets and properties)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import (
    Backup,
    Policy,
    backup_name,
    decide,
    is_complete,
    latest_complete,
    listing_prefix,
    parse_backup_name,
    parse_timestamp,
    to_backup,
)

UTC = timezone.utc
# A Wednesday, mid-afternoon: ISO week starts Monday 2025-03-10.
NOW = datetime(2025, 3, 12, 15, 0, 0, tzinfo=UTC)
GRACE = timedelta(hours=24)
PREFIX = "neo4j-backups"


def bk(created, database="neo4j", environment="prod", complete=True, last_modified=None):
    return Backup(backup_name(PREFIX, environment, database, created), environment, database, created, complete,
                  last_modified, 1, "dump")


def names(backups):
    return sorted(b.name for b in backups)


# --- naming convention ---------------------------------------------------------------------------------

def test_backup_name_round_trips():
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    name = backup_name(PREFIX, "prod", "neo4j", created)
    assert name == "neo4j-backups/prod/neo4j/neo4j-20250102T030405Z.dump"
    assert parse_backup_name(name, PREFIX) == ("prod", "neo4j", created, "dump")
    assert parse_backup_name(backup_name("", "dev", "movies.db", created, "backup"), "") == \
        ("dev", "movies.db", created, "backup")


@pytest.mark.parametrize("name", [
    "neo4j-backups/prod/neo4j/other-20250102T030405Z.dump",    # file name does not match the database folder
    "neo4j-backups/prod/neo4j/neo4j-20250102T0304Z.dump",      # short timestamp
    "neo4j-backups/prod/neo4j/neo4j-20250102T030405Z.tar",     # unknown artifact
    "neo4j-backups/neo4j/neo4j-20250102T030405Z.dump",         # no environment segment
    "other/prod/neo4j/neo4j-20250102T030405Z.dump",            # another prefix
    "neo4j-backups/prod/neo4j/neo4j-20250102T030405Z.dump.tmp",
])
def test_names_outside_the_convention_are_not_backups(name):
    assert parse_backup_name(name, PREFIX) is None
    assert to_backup(name, PREFIX, {"backup_complete": "true"}) is None


def test_listing_prefix():
    assert listing_prefix("neo4j-backups") == "neo4j-backups/"
    assert listing_prefix("/a/b/", "prod") == "a/b/prod/"
    assert listing_prefix("") == ""


@pytest.mark.parametrize("metadata,complete", [
    ({"backup_complete": "true"}, True), ({"Backup_Complete": "TRUE"}, True), ({"backup_complete": "false"}, False),
    ({}, False), (None, False), ({"database": "neo4j"}, False),
])
def test_complete_only_with_the_metadata_flag(metadata, complete):
    assert is_complete(metadata) is complete


def test_parse_timestamp_forms():
    expected = datetime(2025, 1, 31, 23, 0, 0, tzinfo=UTC)
    assert parse_timestamp("20250131T230000Z") == expected
    assert parse_timestamp("2025-01-31T23:00:00Z") == expected
    assert parse_timestamp("2025-02-01T00:00:00+01:00") == expected
    assert parse_timestamp("2025-01-31T23:00:00") == expected
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_timestamp("yesterday")


# --- crafted timestamp sets ----------------------------------------------------------------------------

def test_keep_last_only():
    backups = [bk(NOW - timedelta(hours=h)) for h in range(1, 6)]
    decision = decide(backups, Policy(2, 0, 0, GRACE), NOW)
    assert names(decision.kept) == names(backups[:2])
    assert names(decision.deleted) == names(backups[2:])


def test_daily_keeps_the_newest_of_each_day_inside_the_window():
    # Two backups a day (02:00 and 14:00) for 6 days, today included.
    backups = [bk(datetime(2025, 3, 12 - d, h, tzinfo=UTC)) for d in range(6) for h in (2, 14)]
    decision = decide(backups, Policy(0, 3, 0, GRACE), NOW)
    assert names(decision.kept) == names([bk(datetime(2025, 3, d, 14, tzinfo=UTC)) for d in (10, 11, 12)])
    assert len(decision.deleted) == 9


def test_weekly_keeps_the_newest_of_each_iso_week():
    # One backup a day from Sunday 2025-02-16 to Wednesday 2025-03-12.
    backups = [bk(datetime(2025, 2, 16, 1, tzinfo=UTC) + timedelta(days=d)) for d in range(25)]
    decision = decide(backups, Policy(0, 0, 3, GRACE), NOW)
    # Weeks starting 03-10 (newest: 03-12), 03-03 (Sunday 03-09), 02-24 (Sunday 03-02).
    assert [b.created.date().isoformat() for b in decision.kept] == ["2025-03-12", "2025-03-09", "2025-03-02"]


def test_rules_combine_and_give_reasons():
    backups = [bk(NOW - timedelta(days=d, hours=1)) for d in range(0, 30)]
    decision = decide(backups, Policy(2, 4, 3, GRACE), NOW)
    kept = {b.created.date().isoformat() for b in decision.kept}
    # last 2 (03-12, 03-11), daily 03-09..03-12, weekly newest of weeks 03-10, 03-03, 02-24.
    assert kept == {"2025-03-12", "2025-03-11", "2025-03-10", "2025-03-09", "2025-03-02"}
    newest = decision.kept[0].name
    assert decision.reasons[newest] == ["last 2", "daily 2025-03-12", "weekly 2025-03-10"]


def test_zero_policy_still_keeps_the_newest_complete_backup():
    backups = [bk(NOW - timedelta(days=40 + d)) for d in range(3)]
    decision = decide(backups, Policy(0, 0, 0, GRACE), NOW)
    assert names(decision.kept) == [backups[0].name]
    assert decision.reasons[backups[0].name] == ["newest complete backup"]


def test_incomplete_backups_never_count_as_kept():
    old_complete = bk(NOW - timedelta(days=10))
    newer_incomplete = [bk(NOW - timedelta(days=d), complete=False) for d in (2, 3)]
    decision = decide([old_complete] + newer_incomplete, Policy(1, 7, 0, GRACE), NOW)
    # The incomplete ones are newer, yet the old complete backup is the one kept.
    assert names(decision.kept) == [old_complete.name]
    assert names(decision.deleted) == names(newer_incomplete)


def test_incomplete_inside_grace_is_pending_and_last_write_counts():
    running = bk(NOW - timedelta(hours=2), complete=False)
    slow = bk(NOW - timedelta(hours=30), complete=False, last_modified=NOW - timedelta(hours=1))
    stale = bk(NOW - timedelta(hours=30), complete=False, last_modified=NOW - timedelta(hours=29))
    decision = decide([running, slow, stale], Policy(3, 3, 3, GRACE), NOW)
    assert names(decision.pending) == names([running, slow])
    assert names(decision.deleted) == [stale.name]
    assert decision.kept == []


def test_databases_and_environments_are_separate_groups():
    a = [bk(NOW - timedelta(days=d), database="neo4j") for d in range(3)]
    b = [bk(NOW - timedelta(days=50 + d), database="movies") for d in range(3)]
    c = [bk(NOW - timedelta(days=d), environment="dev") for d in range(3)]
    decision = decide(a + b + c, Policy(1, 0, 0, GRACE), NOW)
    assert names(decision.kept) == names([a[0], b[0], c[0]])


def test_negative_numbers_are_refused():
    with pytest.raises(ValueError):
        decide([], Policy(-1, 0, 0, GRACE), NOW)


def test_latest_complete_before():
    backups = [bk(datetime(2025, 3, d, 2, tzinfo=UTC)) for d in (1, 2, 3)]
    backups.append(bk(datetime(2025, 3, 4, 2, tzinfo=UTC), complete=False))
    assert latest_complete(backups)[("prod", "neo4j")].created.day == 3
    assert latest_complete(backups, datetime(2025, 3, 2, 12, tzinfo=UTC))[("prod", "neo4j")].created.day == 2
    assert latest_complete(backups, datetime(2025, 3, 2, 2, tzinfo=UTC))[("prod", "neo4j")].created.day == 2
    assert latest_complete(backups, datetime(2025, 2, 1, tzinfo=UTC)) == {}


# --- properties ----------------------------------------------------------------------------------------

backup_sets = st.lists(
    st.tuples(
        st.integers(min_value=-2 * 24 * 60, max_value=120 * 24 * 60),  # minutes before NOW (a few in the future)
        st.sampled_from(["neo4j", "movies"]),
        st.sampled_from(["prod", "dev"]),
        st.booleans(),
        st.one_of(st.none(), st.integers(min_value=0, max_value=72 * 60)),  # last write, minutes before NOW
    ),
    max_size=60,
    unique_by=lambda t: (t[0], t[1], t[2]),
).map(lambda items: [
    bk(NOW - timedelta(minutes=m), database=db, environment=env, complete=done,
       last_modified=None if lm is None else NOW - timedelta(minutes=lm))
    for m, db, env, done, lm in items])
policies = st.builds(Policy, st.integers(0, 10), st.integers(0, 40), st.integers(0, 20),
                     st.integers(0, 72).map(lambda h: timedelta(hours=h)))


@settings(max_examples=300, deadline=None)
@given(backup_sets, policies)
def test_property_partition_and_safety(backups, policy):
    decision = decide(backups, policy, NOW)
    kept, deleted, pending = names(decision.kept), names(decision.deleted), names(decision.pending)
    # kept, deleted and pending partition the input.
    assert sorted(kept + deleted + pending) == names(backups)
    assert not set(kept) & set(deleted) and not set(kept) & set(pending) and not set(deleted) & set(pending)
    # Only complete backups are kept; the newest complete backup of every database is kept.
    assert all(b.complete for b in decision.kept)
    for env_db in {(b.environment, b.database) for b in backups if b.complete}:
        newest = max((b for b in backups if b.complete and (b.environment, b.database) == env_db),
                     key=lambda b: (b.created, b.name))
        assert newest.name in kept
    # At least min(keep_last, complete count) are kept per database.
    for env_db in {(b.environment, b.database) for b in backups}:
        complete = [b for b in backups if b.complete and (b.environment, b.database) == env_db]
        kept_here = [b for b in decision.kept if (b.environment, b.database) == env_db]
        assert len(kept_here) >= min(policy.keep_last, len(complete))


@settings(max_examples=200, deadline=None)
@given(backup_sets, policies)
def test_property_deterministic_and_idempotent(backups, policy):
    first = decide(backups, policy, NOW)
    # Same decision for the same input in any order (check mode and apply compute it the same way).
    assert decide(list(reversed(backups)), policy, NOW) == first
    # Pruning twice deletes nothing more: the survivors are all kept or pending again.
    second = decide(first.kept + first.pending, policy, NOW)
    assert second.deleted == []
    assert names(second.kept) == names(first.kept)
