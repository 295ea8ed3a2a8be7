"""neo4j_health against the real Neo4j 5.26 Community server of the test environment, through ansible-playbook.

Healthy paths run on the shared server (read-only). Paths that stop the server or make it read-only run on a
private instance, so other tests never see it down. Community cannot STOP DATABASE: an offline/quarantined
database is covered by the unit tests of the status parsing; here the unhealthy paths are the ones Community
offers (server stopped, read-only databases, a required database that does not exist).
"""

from __future__ import annotations

import threading
import time

import neo4j
import pytest

from testenv_client import localhost_play, run_playbook

from testenv.components.base import free_port
from testenv.components.neo4j_server import private_instance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def neo4j_env(testenv_for):
    return testenv_for("neo4j")


@pytest.fixture(scope="module")
def private_neo4j(neo4j_env, tmp_path_factory):  # pylint: disable=unused-argument  # the lib is built by then
    with private_instance(tmp_path_factory.mktemp("neo4j-health") / "home") as inst:
        yield inst


def health(env, check=False, **options):
    """Run neo4j_health once in a playbook; return (task result, playbook result)."""
    task = {"name": "health", "neo4j_azure.aks.neo4j_health": options, "register": "health"}
    result = run_playbook(localhost_play([task]), env=env, check=check)
    return result.task("health"), result


def count_nodes(env):
    with neo4j.GraphDatabase.driver(env["NEO4J_URI"], auth=(env["NEO4J_USERNAME"], env["NEO4J_PASSWORD"])) as drv:
        return drv.execute_query("MATCH (n) RETURN count(n) AS c").records[0]["c"]


def test_healthy_server_reports_real_values(neo4j_env):
    nodes_before = count_nodes(neo4j_env)
    res, play = health(neo4j_env, write_probe=True, required_databases=["neo4j", "system"], latency_samples=20)
    assert play.rc == 0, play
    assert res["healthy"] is True and res["problems"] == [] and res["changed"] is False
    assert res["server"]["version"] == neo4j_env["NEO4J_VERSION"]
    assert res["server"]["edition"] == "community"
    assert res["server"]["agent"] == f"Neo4j/{neo4j_env['NEO4J_VERSION']}"
    assert res["server"]["address"] == neo4j_env["NEO4J_URI"].removeprefix("bolt://")
    assert res["database"] == "neo4j"
    by_name = {db["name"]: db for db in res["databases"]}
    assert set(by_name) == {"neo4j", "system"}
    for db in by_name.values():
        assert (db["current_status"], db["requested_status"], db["role"]) == ("online", "online", "primary")
    assert by_name["neo4j"]["default"] is True and by_name["neo4j"]["access"] == "read-write"
    assert res["accepts_writes"] is True and res["write_probe_error"] is None
    lat = res["latency_ms"]
    assert lat["samples"] == 20 and 0 < lat["min"] <= lat["median"] <= lat["max"]
    assert res["servers"] is None  # Community has no SHOW SERVERS
    # The write probe was rolled back: the real database holds exactly what it held before.
    assert count_nodes(neo4j_env) == nodes_before
    print(f"\nFIGURE health latency RETURN 1 over 20 (ms): min {lat['min']} median {lat['median']} max {lat['max']};"
          f" whole probe {res['elapsed_s']} s")


def test_check_mode_reports_the_same_and_changes_nothing(neo4j_env):
    res, play = health(neo4j_env, check=True, write_probe=True)
    assert play.rc == 0 and res["healthy"] is True and res["changed"] is False
    assert play.changed() == 0


def test_missing_required_database_is_named(neo4j_env):
    res, play = health(neo4j_env, required_databases=["neo4j", "reports"])
    assert play.rc != 0 and res["failed"] is True
    assert res["problems"] == ["required database 'reports' does not exist"]
    assert "required database 'reports' does not exist" in res["msg"]
    assert res["error_kind"] == "unhealthy"


def test_latency_threshold(neo4j_env):
    res, _play = health(neo4j_env, latency_threshold_ms=0.000001)
    assert res["failed"] is True and "exceeds latency_threshold_ms" in res["msg"]


def test_wrong_password_is_an_auth_error_and_not_retried(neo4j_env):
    started = time.monotonic()
    res, play = health(neo4j_env, password="not-the-password", wait=True, timeout=60)
    assert play.rc != 0
    assert res["error_kind"] == "auth"
    assert "authentication failed for user 'neo4j'" in res["msg"]
    assert time.monotonic() - started < 30  # failed at once instead of waiting out the timeout
    assert "not-the-password" not in play.stdout + play.stderr


def test_tls_to_a_plaintext_server_is_a_tls_error(neo4j_env):
    res, _play = health(neo4j_env, uri=neo4j_env["NEO4J_URI"].replace("bolt://", "bolt+ssc://"))
    assert res["error_kind"] == "tls" and "TLS handshake failed" in res["msg"]


def test_unreachable_fails_within_the_timeout(neo4j_env):
    uri = f"bolt://127.0.0.1:{free_port()}"
    started = time.monotonic()
    res, play = health(neo4j_env, uri=uri, wait=True, timeout=4, initial_delay=0.5, max_delay=1)
    elapsed = time.monotonic() - started
    assert play.rc != 0 and res["error_kind"] == "unreachable"
    assert f"Neo4j at {uri} is unreachable" in res["msg"] and "Connection refused" in res["msg"]
    # It waited the whole timeout (how much longer a loaded machine takes is the bench's business, not asserted).
    assert res["attempts"] >= 3 and res["elapsed_s"] >= 4
    print(f"\nFIGURE unreachable with timeout 4: task wall {elapsed:.2f} s, module {res['elapsed_s']} s")


def test_stopped_server_is_unreachable_then_wait_sees_it_come_up(private_neo4j):
    env = private_neo4j.env()
    private_neo4j.stop()
    try:
        res, _play = health(env)
        assert res["error_kind"] == "unreachable"

        outcome = {}

        def wait_for_health():
            outcome["result"] = health(env, wait=True, timeout=180, initial_delay=0.5, max_delay=2)
            outcome["done"] = time.time()

        waiter = threading.Thread(target=wait_for_health)
        waiter.start()
        time.sleep(3)  # the health task is now probing a stopped server
        private_neo4j.start()
        ready = time.time()  # the moment a query first ran on the restarted server
        waiter.join(240)
        res, play = outcome["result"]
        assert play.rc == 0, play
        assert res["healthy"] is True and res["attempts"] > 1
        # Time to detect is measured (printed, and in bench/), not asserted: a loaded machine stretches it.
        detect = outcome["done"] - ready
        print(f"\nFIGURE time-to-detect (server answering -> health task done, initial_delay 0.5, max_delay 2): "
              f"{detect:.2f} s; health waited {res['elapsed_s']} s over {res['attempts']} attempts")
    finally:
        private_neo4j.start()


def test_read_only_database_fails_the_write_probe(private_neo4j):
    env = private_neo4j.env()
    private_neo4j.stop()
    private_neo4j.write_conf({"server.databases.default_to_read_only": "true"})
    private_neo4j.start()
    try:
        res, _play = health(env, write_probe=True)
        assert res["failed"] is True and res["accepts_writes"] is False
        assert "database 'neo4j' does not accept writes" in res["msg"]
        by_name = {db["name"]: db for db in res["databases"]}
        assert by_name["neo4j"]["access"] == "read-only"
        res, play = health(env)  # without the write probe, a read-only database is healthy
        assert play.rc == 0 and res["healthy"] is True
    finally:
        private_neo4j.stop()
        private_neo4j.write_conf({})
        private_neo4j.start()
