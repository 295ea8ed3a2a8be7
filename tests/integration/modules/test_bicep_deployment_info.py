"""bicep_deployment_info against the ARM test double: a deployment made by bicep_deployment is read back with
its outputs and state, with one GET and no write (what-if, PUT, POST or DELETE) in the double's request log; a
missing deployment is exists=false, or a failure naming the deployment with fail_when_missing."""

from __future__ import annotations

import uuid

import pytest

from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import FILES, localhost_play, run_playbook

TEMPLATE = str(FILES / "arm" / "storage.json")
PASSWORD = "Neo4j-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "arm")


def play(env, *tasks):
    return localhost_play(list(tasks), module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})


def info_task(rg_name, name="storage", **extra):
    return {"name": "read deployment", "neo4j_azure.aks.bicep_deployment_info":
            {"name": name, "resource_group": rg_name, **extra}, "register": "info"}


def test_reads_outputs_without_writing(env):
    arm = ArmDoubleClient(env)
    rg = "rg-info-" + uuid.uuid4().hex[:8]
    deploy = {"name": "deploy template", "neo4j_azure.aks.bicep_deployment": {
        "name": "storage", "resource_group": rg, "create_resource_group": True, "location": "westeurope",
        "template_file": TEMPLATE, "parameters": {"prefix": "info", "adminPassword": PASSWORD, "retentionDays": 9}},
        "register": "out"}
    res = run_playbook(play(env, deploy), env=env)
    assert res.rc == 0, res
    deployed = res.task("deploy template")

    for check in (False, True):
        since = arm.last_seq()
        res = run_playbook(play(env, info_task(rg)), env=env, check=check)
        assert res.rc == 0, res
        info = res.task("read deployment")
        assert info["changed"] is False and info["exists"] is True
        assert info["provisioning_state"] == "Succeeded"
        assert info["outputs"] == deployed["outputs"] and info["outputs"]["retentionDays"] == 9
        assert info["deployment_id"].endswith(f"/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/storage")
        # Other tests may share the double: count what was sent about this resource group.
        sent = [r for r in arm.requests(since) if f"/{rg}/".lower() in r["path"].lower()]
        assert [(r["method"], r["operation"]) for r in sent] == [("GET", "Deployments_Get")], sent
        assert PASSWORD not in res.stdout + res.stderr


def test_missing_deployment(env):
    rg = "rg-info-" + uuid.uuid4().hex[:8]
    res = run_playbook(play(env, info_task(rg, name="nothing-here")), env=env)
    assert res.rc == 0, res
    info = res.task("read deployment")
    assert info["exists"] is False and info["outputs"] == {} and info["changed"] is False

    res = run_playbook(play(env, info_task(rg, name="nothing-here", fail_when_missing=True)), env=env)
    assert res.rc != 0
    msg = res.failed_tasks()[0][2]
    assert "nothing-here" in msg and rg in msg and "does not exist" in msg
