"""The user's path end to end: playbooks/site.yml on inventories/local (ARM test double, kwok, Azurite, and Neo4j
in a real pod on the environment's kubelet node), idempotence with Neo4j's data read back, check mode after an
inventory change, backup.yml and restore.yml, and the molecule scenario.

inventories/local logs in as on AKS with Entra ID and local accounts disabled: the ARM double answers
listClusterUserCredential for the local resource group with AKS's exec kubeconfig, the infra role converts it
(login auto -> spn) and checks it, and every playbook then reaches the kwok cluster only with tokens the real
kubelogin got from the double's Entra endpoint and the API server validated (no client certificate and no token in
the file, and anonymous requests cannot write). The job's environment carries the service principal as an AWX Azure
credential injects it. Prints the token requests and wall time per run: the cost of the login.

One site.yml converge serves every test of the module (the `converged` fixture): the tests after it start from the
converged state, as a user's next job does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import backup_name
from testenv.arm_double.client import ArmDoubleClient, azure_credential_env
from testenv_client import NEO4J_STATEFULSET, REPO, ansible_env, kubectl, run_playbook

LOCAL = REPO / "inventories" / "local"
HOST = "neo4j-local"
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


@pytest.fixture(scope="module")
def env(testenv_for):
    env = testenv_for()
    if not (Path(env["TESTENV_BIN_DIR"]) / "kubelogin").exists() or "TESTENV_AKS_ISSUER" not in env:
        pytest.skip("the test environment has no kubelogin or no Entra issuer (run testenv.py up again)")
    # The cluster's kubeconfig logs in through kubelogin (spn): the job's Azure credential, as AWX injects it.
    return {**env, **azure_credential_env(env)}


class Runs:
    """Playbook runs, with the AKS tokens the double issued during each."""

    def __init__(self, env):
        self.env, self.arm = env, ArmDoubleClient(env)
        self.figures = []

    def tokens(self) -> int:
        return self.arm.counters().get(f"Entra_tokens_issued:{AKS_SERVER_APP_ID}", 0)

    def run(self, playbook: str, inventory: Path = LOCAL, **kwargs):
        before = self.tokens()
        # The admin kubeconfig stays the tests' own: a task that fell back to KUBECONFIG / K8S_AUTH_KUBECONFIG
        # instead of the role's kubeconfig would fail here rather than pass with the client certificate.
        missing = str(Path(self.env["TESTENV_STATE_DIR"]) / "no-kubeconfig-outside-the-roles")
        result = run_playbook(str(REPO / "playbooks" / playbook), env=self.env, inventory=str(inventory),
                              extra_env={"KUBECONFIG": missing, "K8S_AUTH_KUBECONFIG": missing}, **kwargs)
        self.figures.append((playbook, round(result.wall, 1), self.tokens() - before))
        print(f"{playbook}: {result.wall:.1f} s, {self.tokens() - before} AKS token requests")
        return result


@pytest.fixture(scope="module")
def runs(env, tmp_path_factory):
    # kubelogin's token cache (<XDG_CACHE_HOME>/.IdentityService) of this module only, empty at the start like an
    # AWX job's: the counts are what a fresh job pays.
    runs = Runs({**env, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("kubelogin-cache"))})
    yield runs
    print("figures (playbook, wall s, AKS token requests):", runs.figures)


@pytest.fixture(scope="module")
def converged(runs):
    """site.yml's first run of the module; the tests that start from a converged state require it to have passed."""
    first = runs.run("site.yml")
    return first


def require(converged):
    if converged.rc != 0:
        pytest.fail(f"site.yml did not converge (see test_site_converges_then_changes_nothing): {converged}")


def kubeconfig_user(env) -> dict:
    path = Path(env["TESTENV_STATE_DIR"]) / "local-aks.kubeconfig"
    text = path.read_text()
    assert "client-certificate-data" not in text and "client-key-data" not in text and "token:" not in text
    assert env["TESTENV_AZURE_CLIENT_SECRET"] not in text and "eyJ" not in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return yaml.safe_load(text)["users"][0]["user"]


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


def test_site_converges_then_changes_nothing(env, runs, converged):
    first = converged
    assert first.rc == 0, first
    summary = first.task("Summarise the validation", HOST)
    assert any("databases: neo4j online" in line for line in summary["msg"])
    sts = kubectl_json(env, "-n", "neo4j", "get", "statefulset", "neo4j")
    assert sts["status"]["readyReplicas"] == 1
    fetched = first.task("neo4j_azure.aks.infra : Write the cluster kubeconfig", HOST)
    assert fetched["login"] == "spn" and fetched["access"]["status_code"] == 200, fetched
    user = kubeconfig_user(env)
    assert user["exec"]["command"] == "kubelogin" and user["exec"]["args"][:3] == ["get-token", "--login", "spn"]
    assert runs.figures[-1][2] >= 1  # a token for the AKS server application, cached by kubelogin for the rest
    real = bool(env.get("TESTENV_REAL_NODE"))
    if real:
        # Neo4j runs in a container on the real node, and validate reached it through its own port-forward.
        assert kubectl_json(env, "-n", "neo4j", "get", "pod", "neo4j-0")["spec"]["nodeName"] == env["TESTENV_REAL_NODE"]
        assert any("port-forward to neo4j-0" in line for line in summary["msg"]), summary["msg"]
        assert probes(env, write=True) == PROBES

    second = runs.run("site.yml")
    assert second.rc == 0, second
    for name, stats in second.stats.items():
        assert stats["changed"] == 0, f"{name}: {second.changed_tasks(name)}"
    assert second.task("neo4j_azure.aks.infra : Write the cluster kubeconfig", HOST)["access"]["status_code"] == 200
    if real:
        assert probes(env) == PROBES
    else:
        pytest.skip(f"site.yml converged on simulated nodes only: {env.get('TESTENV_REAL_NODE_UNAVAILABLE')}")


def test_check_diff_after_one_inventory_change_shows_only_that_change(env, runs, converged, tmp_path):
    require(converged)  # the converged state to compare against
    inventory = tmp_path / "local"
    shutil.copytree(LOCAL, inventory)
    group_vars = inventory / "group_vars" / "neo4j_aks" / "main.yml"
    settings = yaml.safe_load(group_vars.read_text())
    assert settings["neo4j_memory"] == "2Gi"
    group_vars.write_text(group_vars.read_text().replace("neo4j_memory: 2Gi", "neo4j_memory: 3Gi"))
    before = kubectl_json(env, "-n", "neo4j", "get", "statefulset", "neo4j")

    checked = runs.run("site.yml", inventory=inventory, check=True, diff=True)
    assert checked.rc == 0, checked
    changed = checked.changed_tasks(HOST)
    assert changed == ["neo4j_azure.aks.neo4j : Install or upgrade the Helm release, rolling back a failed upgrade"], \
        changed
    diff = json.dumps(checked.task(changed[0], HOST).get("diff", {}))
    assert "3Gi" in diff
    after = kubectl_json(env, "-n", "neo4j", "get", "statefulset", "neo4j")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_backup_and_restore_log_in_through_kubelogin(env, runs, converged):
    require(converged)  # the kubeconfig infra wrote
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
    namespace = f"kl-{uuid.uuid4().hex[:6]}"
    kubectl(env, "create", "namespace", namespace)
    kubectl(env, "apply", "-f", "-", input_text=NEO4J_STATEFULSET % {"ns": namespace})
    container = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"]).create_container(
        f"kl-{uuid.uuid4().hex[:10]}")
    try:
        backup = runs.run("backup.yml", extra_vars={"backup_namespace": namespace, "backup_run_now": False,
                                                    "backup_container": container.container_name})
        assert backup.rc == 0, backup
        blob = backup_name("neo4j-backups", "local", "neo4j", datetime.now(timezone.utc) - timedelta(hours=1))
        container.upload_blob(blob, b"dump", metadata={"backup_complete": "true"})
        restore = runs.run("restore.yml", extra_vars={
            "restore_confirm": "local", "restore_namespace": namespace, "restore_container": container.container_name,
            "restore_validate": False, "restore_job_wait_timeout": 180})
        assert restore.rc == 0, restore
        assert restore.task("Name the restore Job", HOST)["ansible_facts"]["restore_job_name"]
        kubeconfig_user(env)
    finally:
        container.delete_container()
        kubectl(env, "delete", "namespace", namespace, "--wait=false", check=False)


def test_molecule_scenario_converges_idempotently_and_verifies(env, converged):
    # On the converged state: molecule's converge and its idempotence run are both no-ops to prove.
    molecule = Path(sys.executable).parent / "molecule"
    proc = subprocess.run([str(molecule), "test", "-s", "default"], cwd=REPO, capture_output=True, text=True,
                          env=ansible_env(env, {"MOLECULE_NO_LOG": "false"}), timeout=1200, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "idempotence" in output.lower()
    assert env["NEO4J_PASSWORD"] not in output
