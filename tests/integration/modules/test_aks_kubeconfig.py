"""aks_kubeconfig against the ARM test double; the kubeconfig it writes is used with kubectl on kwok."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid

import pytest

from testenv.arm_double.client import module_defaults
from testenv_client import FILES as TEST_FILES, localhost_play, run_playbook

FILES = TEST_FILES / "arm"


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "arm")


def play(env, *tasks):
    return localhost_play(list(tasks), module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})


@pytest.fixture(scope="module")
def cluster(env):
    """A managed cluster deployed through bicep_deployment (the same path the infra role takes)."""
    rg = "rg-aks-" + uuid.uuid4().hex[:8]
    name = "aks-" + uuid.uuid4().hex[:6]
    task = {"name": "cluster", "neo4j_azure.aks.bicep_deployment": {
        "name": "aks", "resource_group": rg, "create_resource_group": True, "location": "westeurope",
        "template_file": str(FILES / "aks.json"), "parameters": {"clusterName": name, "disableLocalAccounts": True}}}
    res = run_playbook(play(env, task), env=env)
    assert res.rc == 0, res
    yield rg, name
    run_playbook(play(env, {"name": "cleanup", "neo4j_azure.aks.bicep_deployment": {
        "name": "aks", "resource_group": rg, "state": "absent", "delete_resource_group": True}}), env=env)


def fetch(rg, name, path, register="kube", **extra):
    return {"name": "fetch kubeconfig", "register": register, "neo4j_azure.aks.aks_kubeconfig": {
        "resource_group": rg, "cluster_name": name, "path": str(path), **extra}}


def test_kubeconfig_written_idempotent_and_works_with_kubectl(env, cluster, tmp_path):
    rg, name = cluster
    path = tmp_path / "kube" / "config.yaml"
    res = run_playbook(play(env, fetch(rg, name, path)), env=env, check=True)
    assert res.rc == 0, res
    assert res.task("fetch kubeconfig")["changed"] is True
    assert not path.exists()

    res = run_playbook(play(env, fetch(rg, name, path)), env=env, diff=True)
    assert res.rc == 0, res
    result = res.task("fetch kubeconfig")
    assert result["changed"] is True and result["path"] == str(path) and result["context"] == name
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "client-key-data" not in res.stdout  # the credential is never echoed

    res = run_playbook(play(env, fetch(rg, name, path)), env=env)
    assert res.task("fetch kubeconfig")["changed"] is False

    os.chmod(path, 0o644)  # a loosened mode is a change, fixed back to 0600
    res = run_playbook(play(env, fetch(rg, name, path)), env=env)
    assert res.task("fetch kubeconfig")["changed"] is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    kubectl = env.get("KUBECTL_BIN") or "kubectl"
    out = subprocess.run([kubectl, "--kubeconfig", str(path), "--context", name, "get", "nodes", "-o", "name"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "node/aks-neo4j" in out.stdout


def test_admin_credentials_refused_when_local_accounts_disabled(env, cluster, tmp_path):
    rg, name = cluster
    res = run_playbook(play(env, fetch(rg, name, tmp_path / "admin.yaml", credential_type="admin")), env=env)
    failed = res.task("fetch kubeconfig")
    assert failed["failed"] and failed["error_code"] == "BadRequest" and failed["option"] == "credential_type"
    assert "local accounts disabled" in failed["msg"] and "credential_type=user" in failed["msg"]
    assert not (tmp_path / "admin.yaml").exists()


def test_unknown_cluster_names_the_option(env, cluster, tmp_path):
    rg = cluster[0]
    res = run_playbook(play(env, fetch(rg, "no-such-cluster", tmp_path / "x.yaml")), env=env)
    failed = res.task("fetch kubeconfig")
    assert failed["failed"] and failed["option"] == "cluster_name"
