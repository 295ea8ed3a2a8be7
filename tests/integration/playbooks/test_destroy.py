"""playbooks/destroy.yml on inventories/local: refuses without confirm_destroy; with it, removes the Helm release
and the infra deployment's resources but keeps the storage account; a second run (also with the cluster out
of reach) changes nothing.

The environment is a throwaway one: a small template deployed under the infra deployment name in its own
resource group on the ARM test double, and the smoke chart released in its own namespace on the kwok cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import FILES, localhost_play, run_playbook

PLAYBOOK = "playbooks/destroy.yml"
INVENTORY = "inventories/local"
HOST = "neo4j-local"
SMOKE_CHART = FILES / "smoke-chart"
TEMPLATE = json.loads((FILES / "arm" / "destroy.json").read_text())


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "arm", "neo4j", "azurite")


@pytest.fixture()
def target(env):
    """Extra vars pointing destroy.yml at a throwaway group, deployment, namespace and release."""
    suffix = uuid.uuid4().hex[:8]
    names = {"infra_resource_group": f"rg-destroy-pb-{suffix}", "infra_deployment_name": f"infra-{suffix}",
             "neo4j_namespace": f"destroy-{suffix}", "neo4j_release_name": "smoke",
             "neo4j_kubeconfig": env["KUBECONFIG"]}
    yield names
    run_playbook(play(env, [
        {"name": "remove the group", "neo4j_azure.aks.bicep_deployment": {
            "name": names["infra_deployment_name"], "resource_group": names["infra_resource_group"],
            "state": "absent", "delete_resource_group": True}},
        {"name": "remove the namespace", "kubernetes.core.k8s": {
            "api_version": "v1", "kind": "Namespace", "name": names["neo4j_namespace"], "state": "absent"}},
    ]), env=env)


def play(env, tasks):
    return localhost_play(tasks, module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})


def prepare(env, names):
    res = run_playbook(play(env, [
        {"name": "deploy", "neo4j_azure.aks.bicep_deployment": {
            "name": names["infra_deployment_name"], "resource_group": names["infra_resource_group"],
            "create_resource_group": True, "location": "westeurope", "template": TEMPLATE}},
        {"name": "release", "kubernetes.core.helm": {
            "name": names["neo4j_release_name"], "chart_ref": str(SMOKE_CHART),
            "release_namespace": names["neo4j_namespace"], "create_namespace": True, "wait": True}},
    ]), env=env)
    assert res.rc == 0, res


def release_exists(env, names) -> bool:
    proc = subprocess.run([env["HELM_BIN"], "status", names["neo4j_release_name"], "-n", names["neo4j_namespace"],
                           "--kubeconfig", env["KUBECONFIG"]], capture_output=True, text=True, check=False,
                          env={**os.environ, **env})
    return proc.returncode == 0


def deletes(arm, since, rg):
    """DELETE requests to this test's resource group (other tests share the double at the same time)."""
    own = f"/resourcegroups/{rg.lower()}"
    return [r for r in arm.requests(since) if r["method"] == "DELETE" and own in r["path"].lower()]


def destroy(env, names, confirm=None, check=False, **more):
    extra = dict(names, **more)
    if confirm is not None:
        extra["confirm_destroy"] = confirm
    return run_playbook(PLAYBOOK, env=env, inventory=INVENTORY, extra_vars=extra, check=check)


def test_destroy_refuses_then_removes_release_and_resources_keeping_storage(env, target):
    arm = ArmDoubleClient(env)
    rg = target["infra_resource_group"]
    prepare(env, target)
    resources, deployments = arm.held(rg)
    storage = {r for r in resources if r.startswith("/providers/Microsoft.Storage/")}
    assert len(storage) == 2 and target["infra_deployment_name"] in deployments
    assert release_exists(env, target)

    # No confirmation (and a wrong one): refused, naming confirm_destroy; nothing changed.
    for confirm in (None, "prod"):
        seq = arm.last_seq()
        res = destroy(env, target, confirm=confirm)
        assert res.rc != 0, res
        assert "confirm_destroy=local" in res.task("Refuse to destroy", HOST)["msg"]
        assert res.changed(HOST) == 0
        assert not deletes(arm, seq, rg)
        assert release_exists(env, target)
        assert arm.held(rg) == (resources, deployments)

    # Check mode: says what would go, deletes nothing.
    seq = arm.last_seq()
    res = destroy(env, target, confirm="local", check=True)
    assert res.rc == 0, res
    would = res.task("Remove the Azure resources", HOST)
    assert would["changed"] is True
    assert len(would["deleted_resources"]) == 3 and len(would["kept_resources"]) == 2
    assert not deletes(arm, seq, rg)
    assert release_exists(env, target) and arm.held(rg) == (resources, deployments)

    # Confirmed: the release and the network go; the storage account and its container stay.
    res = destroy(env, target, confirm="local")
    assert res.rc == 0, res
    assert res.task("Remove the Neo4j Helm release", HOST)["changed"] is True
    assert res.task("Remove the Azure resources", HOST)["changed"] is True
    assert not release_exists(env, target)
    assert arm.held(rg) == (storage, set())
    assert any(g["name"] == rg for g in arm.state()["resourceGroups"])

    # Again: nothing left to do, also when the cluster does not answer any more.
    res = destroy(env, target, confirm="local")
    assert res.rc == 0, res
    assert res.changed(HOST) == 0, res.changed_tasks(HOST)
    res = destroy(env, target, confirm="local", neo4j_kubeconfig=str(Path(env["KUBECONFIG"]).parent / "gone"))
    assert res.rc == 0, res
    assert res.changed(HOST) == 0
    assert "did not answer" in res.task("Say why there is no Helm release", HOST)["msg"]
    assert arm.held(rg) == (storage, set())


def test_refused_destroy_on_a_production_like_inventory_sends_no_request(prodlike):
    """No confirm_destroy (or another environment's name), one infra value drifted: no request to the infra
    resource group, none to Kubernetes, the kubeconfig and the deployment as they were (conftest.py: prodlike)."""
    kubeconfig_before = prodlike.kubeconfig.read_bytes()
    deployment_before = prodlike.deployment()
    for confirm in (None, "prod"):
        seq, kube_seen = prodlike.arm.last_seq(), len(prodlike.kube.log)
        res = prodlike.run("destroy.yml", extra_vars={"confirm_destroy": confirm} if confirm else None)
        assert res.rc != 0, res
        assert "confirm_destroy=local" in res.task("Refuse to destroy", HOST)["msg"]
        assert res.changed(HOST) == 0, res.changed_tasks(HOST)
        assert prodlike.arm_requests(seq) == [] and prodlike.arm_writes(seq) == []
        assert prodlike.kube.log[kube_seen:] == []
    assert prodlike.kubeconfig.read_bytes() == kubeconfig_before
    assert prodlike.deployment() == deployment_before
