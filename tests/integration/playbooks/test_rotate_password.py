"""playbooks/rotate_password.yml end to end: the real Neo4j of the test environment (component neo4j_server) and
the Key Vault test double. One ansible-playbook run, one inventory host per case, each with its own Neo4j user and
secret (the shared neo4j user is never touched): a rotation that succeeds, a failure injected after each of its
four steps. Afterwards Neo4j is logged in to with the passwords: after a
success only the new one works and it is Key Vault's current version; after any failure the old one still works
and is still current, and no pending secret is left."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
import yaml

from testenv.keyvault_double.client import current_value, module_defaults, secret_client
from testenv_client import REPO, run_playbook

PLAYBOOK = str(REPO / "playbooks" / "rotate_password.yml")
CASES = {"ok": "", "new_version": "new_version", "change": "change", "verify": "verify", "promote": "promote"}


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("neo4j", "arm", "keyvault")


def can_login(env, user, password) -> bool:
    import neo4j  # pylint: disable=import-outside-toplevel

    try:
        with neo4j.GraphDatabase.driver(env["NEO4J_URI"], auth=(user, password), connection_timeout=5) as driver:
            driver.execute_query("RETURN 1")
        return True
    except neo4j.exceptions.AuthError:
        return False


def admin_query(env, query, **params):
    import neo4j  # pylint: disable=import-outside-toplevel

    with neo4j.GraphDatabase.driver(env["NEO4J_URI"], auth=(env["NEO4J_USERNAME"], env["NEO4J_PASSWORD"])) as driver:
        driver.execute_query(query, params, database_="system")


@pytest.fixture(scope="module")
def cases(env):
    """Per case: a Neo4j user with a random password, and that password as the current version of its secret."""
    run = uuid.uuid4().hex[:6]
    made = {}
    try:
        for case in CASES:
            user, password = f"rot_{case}_{run}", "Old-" + uuid.uuid4().hex
            admin_query(env, f"CREATE USER {user} SET PASSWORD $p CHANGE NOT REQUIRED", p=password)
            made[case] = {"user": user, "old": password, "secret": f"rot-{case.replace('_', '-')}-{run}"}
            secret_client(env).set_secret(made[case]["secret"], password, content_type="text/plain")
        yield made
    finally:
        for case in made.values():
            admin_query(env, f"DROP USER {case['user']} IF EXISTS")


def test_rotation_and_each_step_failing(env, cases, tmp_path: Path):
    hosts = {}
    for case, fail_step in CASES.items():
        hosts[f"case_{case}"] = {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "neo4j_rotation_user": cases[case]["user"], "neo4j_keyvault_secret_name": cases[case]["secret"],
            "rotate_password_fail_step": fail_step,
        }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"neo4j_aks": {"hosts": hosts, "vars": {
        "neo4j_keyvault_url": env["TESTENV_KEYVAULT_URL"], "neo4j_rotation_uri": env["NEO4J_URI"],
        "neo4j_aks_azure_auth": module_defaults(env)}}}}}))
    res = run_playbook(PLAYBOOK, env=env, inventory=str(inventory), extra_env={"ANSIBLE_FORKS": "6"})

    failed = {host: msg for host, dummy, msg in res.failed_tasks()}
    assert set(failed) == {f"case_{c}" for c in CASES if c != "ok"}, res
    for case in CASES:
        info, current = cases[case], current_value(env, cases[case]["secret"])
        assert current_value(env, info["secret"] + "-pending") is None, case
        if case == "ok":
            assert current != info["old"] and len(current) == 32
            assert can_login(env, info["user"], current) and not can_login(env, info["user"], info["old"])
            assert len(list(secret_client(env).list_properties_of_secret_versions(info["secret"]))) == 2
            assert info["old"] not in res.stdout + res.stderr and current not in res.stdout + res.stderr
            continue
        assert current == info["old"], case
        assert can_login(env, info["user"], info["old"]), f"{case}: the old password no longer works"
        msg = failed[f"case_{case}"]
        assert "old password is still the current one in Key Vault and in Neo4j" in msg, msg
        step = {"new_version": "Injected failure after step 1", "change": "Injected failure after step 2",
                "verify": "Injected failure after step 3", "promote": "Injected failure after step 4"}[case]
        assert step in msg, msg
    assert res.stats["case_ok"]["failures"] == 0
