"""The user's path end to end: playbooks/site.yml on inventories/local (ARM test double, kwok, Azurite, and Neo4j
in a real pod on the environment's kubelet node), idempotence with Neo4j's data read back, check mode after an
inventory change, and the molecule scenario."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testenv.arm_double.client import azure_credential_env
from testenv_client import REPO, ansible_env, run_playbook

SITE = REPO / "playbooks" / "site.yml"
LOCAL = REPO / "inventories" / "local"


@pytest.fixture(scope="module")
def env(testenv_for):
    env = testenv_for()
    # The cluster's kubeconfig logs in through kubelogin (spn): the job's Azure credential, as AWX injects it.
    return {**env, **azure_credential_env(env)}


def kubectl_json(env, *args):
    proc = subprocess.run([env["KUBECTL_BIN"], "--kubeconfig", env["KUBECONFIG"], *args, "-o", "json"],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


PROBES = 100


def probes(env, write=False) -> int:
    """Count (after writing, with write) the :SiteProbe nodes of the Neo4j in the real pod, over Bolt to the pod IP."""
    import neo4j  # pylint: disable=import-outside-toplevel
    ip = kubectl_json(env, "-n", "neo4j", "get", "pod", "neo4j-0")["status"]["podIP"]
    with neo4j.GraphDatabase.driver(f"bolt://{ip}:7687", auth=("neo4j", env["NEO4J_PASSWORD"])) as driver:
        if write:
            driver.execute_query("MATCH (n:SiteProbe) DELETE n", database_="neo4j")
            driver.execute_query("UNWIND range(1, $n) AS i CREATE (:SiteProbe {i: i})", n=PROBES, database_="neo4j")
        return driver.execute_query("MATCH (n:SiteProbe) RETURN count(n) AS n", database_="neo4j").records[0]["n"]


def test_site_converges_then_changes_nothing(env):
    first = run_playbook(SITE, env=env, inventory=str(LOCAL))
    assert first.rc == 0, first
    host = "neo4j-local"
    summary = first.task("Summarise the validation", host)
    assert any("databases: neo4j online" in line for line in summary["msg"])
    sts = kubectl_json(env, "-n", "neo4j", "get", "statefulset", "neo4j")
    assert sts["status"]["readyReplicas"] == 1
    real = bool(env.get("TESTENV_REAL_NODE"))
    if real:
        # Neo4j runs in a container on the real node, and validate reached it through its own port-forward.
        assert kubectl_json(env, "-n", "neo4j", "get", "pod", "neo4j-0")["spec"]["nodeName"] == env["TESTENV_REAL_NODE"]
        assert any("port-forward to neo4j-0" in line for line in summary["msg"]), summary["msg"]
        assert probes(env, write=True) == PROBES

    second = run_playbook(SITE, env=env, inventory=str(LOCAL))
    assert second.rc == 0, second
    for name, stats in second.stats.items():
        assert stats["changed"] == 0, f"{name}: {second.changed_tasks(name)}"
    if real:
        assert probes(env) == PROBES
    else:
        pytest.skip(f"site.yml converged on simulated nodes only: {env.get('TESTENV_REAL_NODE_UNAVAILABLE')}")


def test_check_diff_after_one_inventory_change_shows_only_that_change(env, tmp_path):
    run_playbook(SITE, env=env, inventory=str(LOCAL))  # converged state to compare against
    inventory = tmp_path / "local"
    shutil.copytree(LOCAL, inventory)
    group_vars = inventory / "group_vars" / "neo4j_aks" / "main.yml"
    settings = yaml.safe_load(group_vars.read_text())
    assert settings["neo4j_memory"] == "2Gi"
    group_vars.write_text(group_vars.read_text().replace("neo4j_memory: 2Gi", "neo4j_memory: 3Gi"))
    before = kubectl_json(env, "-n", "neo4j", "get", "statefulset", "neo4j")

    checked = run_playbook(SITE, env=env, inventory=str(inventory), check=True, diff=True)
    assert checked.rc == 0, checked
    changed = checked.changed_tasks("neo4j-local")
    assert changed == ["neo4j_azure.aks.neo4j : Install or upgrade the Helm release, rolling back a failed upgrade"], \
        changed
    diff = json.dumps(checked.task(changed[0], "neo4j-local").get("diff", {}))
    assert "3Gi" in diff
    after = kubectl_json(env, "-n", "neo4j", "get", "statefulset", "neo4j")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_molecule_scenario_converges_idempotently_and_verifies(env):
    molecule = Path(sys.executable).parent / "molecule"
    proc = subprocess.run([str(molecule), "test", "-s", "default"], cwd=REPO, capture_output=True, text=True,
                          env=ansible_env(env, {"MOLECULE_NO_LOG": "false"}), timeout=1200, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "idempotence" in output.lower()
    assert env["NEO4J_PASSWORD"] not in output
