"""Status parsing, problem sentences, backoff and the wait loop of neo4j_health (no server needed)."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import neo4j_health as nh
from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import AUTH, UNREACHABLE, Neo4jOpError


def row(name, current="online", requested="online", address="10.0.0.1:7687", message="", default=False,
        role="primary"):
    return {"name": name, "type": "standard", "aliases": [], "access": "read-write", "address": address,
            "role": role, "writer": role == "primary", "requestedStatus": requested, "currentStatus": current,
            "statusMessage": message, "default": default, "home": default, "constituents": []}


def test_parse_databases_uses_snake_case():
    (db,) = nh.parse_databases([row("neo4j", default=True)])
    assert db == {"name": "neo4j", "type": "standard", "access": "read-write", "role": "primary", "writer": True,
                  "address": "10.0.0.1:7687", "requested_status": "online", "current_status": "online",
                  "status_message": "", "default": True, "home": True, "aliases": []}


def test_all_online_is_healthy():
    dbs = nh.parse_databases([row("neo4j", default=True), row("system")])
    assert not nh.database_problems(dbs, required=["neo4j"])


def test_stopped_database_is_named_with_requested_status():
    dbs = nh.parse_databases([row("neo4j", default=True), row("sales", current="offline", requested="offline")])
    assert nh.database_problems(dbs) == ["database 'sales' is offline on 10.0.0.1:7687"]


def test_quarantined_database_says_why():
    dbs = nh.parse_databases([row("sales", current="quarantined", message="Store corrupted")])
    assert nh.database_problems(dbs) == [
        "database 'sales' is quarantined (requested online) on 10.0.0.1:7687: Store corrupted"]


def test_cluster_rows_name_the_server_that_is_behind():
    dbs = nh.parse_databases([row("neo4j", address="a:7687"), row("neo4j", current="starting", address="b:7687",
                                                                  role="secondary")])
    assert nh.database_problems(dbs) == ["database 'neo4j' is starting (requested online) on b:7687"]


def test_missing_required_database():
    dbs = nh.parse_databases([row("neo4j", default=True)])
    assert nh.database_problems(dbs, required=["neo4j", "reports"]) == [
        "required database 'reports' does not exist"]


def test_require_all_online_false_ignores_other_databases_but_not_the_default():
    dbs = nh.parse_databases([row("neo4j", default=True, current="offline"), row("scratch", current="offline"),
                              row("sales")])
    problems = nh.database_problems(dbs, required=["sales"], all_online=False)
    assert problems == ["database 'neo4j' is offline (requested online) on 10.0.0.1:7687"]


def test_server_problems():
    servers = nh.parse_servers([
        {"name": "s1", "address": "a:7687", "state": "Enabled", "health": "Available", "hosting": ["neo4j"]},
        {"name": "s2", "address": "b:7687", "state": "Cordoned", "health": "Unavailable", "hosting": []},
    ])
    assert nh.server_problems(servers) == ["server s2 (b:7687) is Cordoned", "server s2 (b:7687) health is Unavailable"]


def test_backoff_doubles_up_to_the_cap():
    assert list(itertools.islice(nh.backoff_delays(0.5, 5), 6)) == [0.5, 1.0, 2.0, 4.0, 5, 5]


def test_latency_summary():
    assert nh.latency_summary([3.0, 1.0, 2.0, 10.0]) == {"min": 1.0, "median": 2.5, "max": 10.0, "samples": 4}
    assert nh.latency_summary([]) is None


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def options(**overrides):
    base = {"uri": "bolt://db:7687", "wait": True, "timeout": 10.0, "initial_delay": 1.0, "max_delay": 4.0}
    return {**base, **overrides}


def checker(outcomes, clock, **overrides):
    """A HealthCheck whose probes return or raise the given outcomes in turn."""
    check = nh.HealthCheck(options(**overrides), clock=clock, sleep=clock.sleep)
    queue = list(outcomes)

    def probe():
        outcome = queue.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return dict(outcome)

    check.probe = probe
    return check


def test_wait_retries_unreachable_with_backoff_until_healthy():
    clock = FakeClock()
    down = Neo4jOpError(UNREACHABLE, "Neo4j at bolt://db:7687 is unreachable (refused)")
    report = checker([down, down, {"problems": ["database 'neo4j' is starting"]}, {"problems": []}], clock).run()
    assert report["healthy"] is True and report["attempts"] == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_wait_gives_up_at_the_timeout_with_the_last_problems():
    clock = FakeClock()
    down = Neo4jOpError(UNREACHABLE, "Neo4j at bolt://db:7687 is unreachable (refused)")
    with pytest.raises(nh.HealthError) as info:
        checker([down] * 20, clock, timeout=10.0).run()
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]  # the last sleep is cut to the deadline
    assert info.value.kind == UNREACHABLE
    assert "not healthy after 5 attempts in 10.0s" in str(info.value) and "unreachable (refused)" in str(info.value)


def test_delay_runs_from_probe_start_to_probe_start():
    """A probe that takes time shortens the pause after it; one slower than the delay is followed at once."""
    clock = FakeClock()
    check = nh.HealthCheck(options(initial_delay=1.0, max_delay=1.0), clock=clock, sleep=clock.sleep)
    durations = [0.25, 1.5, 0.0]
    outcomes = [{"problems": ["database 'neo4j' is starting"]}] * 2 + [{"problems": []}]

    def probe():
        clock.now += durations.pop(0)
        return dict(outcomes.pop(0))

    check.probe = probe
    report = check.run()
    assert report["healthy"] is True and report["attempts"] == 3
    assert clock.sleeps == [0.75]


def test_defaults_probe_every_half_second_and_no_more_often():
    spec = nh.health_argument_spec()
    assert spec["initial_delay"]["default"] == 0.5 and spec["max_delay"]["default"] == 0.5


def test_auth_failure_is_not_retried():
    clock = FakeClock()
    with pytest.raises(nh.HealthError) as info:
        checker([Neo4jOpError(AUTH, "authentication failed")], clock).run()
    assert info.value.kind == AUTH and clock.sleeps == []


def test_without_wait_one_probe_decides():
    clock = FakeClock()
    with pytest.raises(nh.HealthError) as info:
        checker([{"problems": ["required database 'x' does not exist"]}], clock, wait=False).run()
    assert str(info.value) == "Neo4j at bolt://db:7687 is not healthy: required database 'x' does not exist"
    assert clock.sleeps == []
