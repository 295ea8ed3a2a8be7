"""roles/infra tasks_from: outputs (the read-only entry point) against the ARM test double and the kwok cluster.

Proves: it reads the deployment with GETs only (never a what-if or a write); check mode writes no kubeconfig;
the kubeconfig is fetched only when the file is missing (a second run sends no credential request and reports
changed=false); the facts infra_outputs, infra_kubeconfig and infra_deployment are set; a missing deployment
fails naming it and playbooks/infra.yml, or yields empty outputs with infra_outputs_required=false; every
infra output a role default reads is one main.bicep has, and the Neo4j and backup workloads get their own
identities.
"""

from __future__ import annotations

import json
import re
import stat
import uuid
from pathlib import Path

import pytest

from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import FILES, localhost_play, run_playbook

WRITES = ("PUT", "PATCH", "DELETE")
REPO = Path(__file__).resolve().parents[3]
ROLES = REPO / "roles"


@pytest.fixture(scope="module")
def env(testenv_for):
    testenv_for("kube")
    return testenv_for("arm")


@pytest.fixture()
def deployed(env):
    """An AKS-shaped deployment named like the infra role's, in a resource group of its own."""
    rg = f"rg-outputs-{uuid.uuid4().hex[:6]}"
    cluster = f"aks-{uuid.uuid4().hex[:6]}"
    auth = {"group/neo4j_azure.aks.azure": module_defaults(env)}
    res = run_playbook(localhost_play([{"name": "deploy", "neo4j_azure.aks.bicep_deployment": {
        "name": "neo4j-infra", "resource_group": rg, "create_resource_group": True, "location": "westeurope",
        "template_file": str(FILES / "arm" / "aks.json"), "parameters": {"clusterName": cluster}}}],
        module_defaults=auth), env=env)
    assert res.rc == 0, res
    yield rg, cluster
    run_playbook(localhost_play([{"name": "remove", "neo4j_azure.aks.bicep_deployment": {
        "name": "neo4j-infra", "resource_group": rg, "state": "absent", "delete_resource_group": True}}],
        module_defaults=auth), env=env)


def outputs_play(env, **role_vars):
    return localhost_play(
        [{"name": "Read the outputs", "ansible.builtin.include_role": {"name": "infra", "tasks_from": "outputs"}},
         {"name": "Show the facts", "ansible.builtin.debug": {
             "msg": {"outputs": "{{ infra_outputs }}", "kubeconfig": "{{ infra_kubeconfig }}",
                     "deployment": "{{ infra_deployment }}"}}}],
        vars_=role_vars, module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})


def own(requests, rg):
    marker = f"/resourcegroups/{rg.lower()}/"
    return [r for r in requests if marker in r["path"].lower() + "/"]


def test_outputs_read_only_and_kubeconfig_fetched_only_when_missing(env, deployed, tmp_path):
    rg, cluster = deployed
    arm = ArmDoubleClient(env)
    kubeconfig = tmp_path / "kube" / "aks.yaml"
    play = outputs_play(env, infra_resource_group=rg, infra_kubeconfig_path=str(kubeconfig))

    seq = arm.last_seq()
    check = run_playbook(play, env=env, check=True)
    assert check.rc == 0, check
    assert not kubeconfig.exists(), "check mode wrote the kubeconfig"
    assert not [r for r in own(arm.requests(seq), rg) if r["method"] in WRITES]

    seq = arm.last_seq()
    first = run_playbook(play, env=env)
    assert first.rc == 0, first
    assert first.task("Fetch the kubeconfig, which is missing")["changed"] is True
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    facts = first.task("Show the facts")["msg"]
    assert facts["outputs"]["clusterName"] == cluster
    assert facts["kubeconfig"] == str(kubeconfig)
    assert facts["deployment"] == {"name": "neo4j-infra", "resource_group": rg}
    requests = own(arm.requests(seq), rg)
    assert not [r for r in requests if r["method"] in WRITES], requests
    assert not [r for r in requests if r["path"].split("?")[0].endswith("/whatIf")], requests

    content = kubeconfig.read_bytes()
    seq = arm.last_seq()
    second = run_playbook(play, env=env)
    assert second.rc == 0, second
    assert second.changed() == 0, second.changed_tasks()
    assert second.task("Fetch the kubeconfig, which is missing").get("skipped") is True
    assert {r["method"] for r in own(arm.requests(seq), rg)} == {"GET"}
    assert kubeconfig.read_bytes() == content


def test_missing_deployment_fails_unless_not_required(env, tmp_path):
    rg = f"rg-outputs-none-{uuid.uuid4().hex[:6]}"
    kubeconfig = tmp_path / "aks.yaml"
    refused = run_playbook(outputs_play(env, infra_resource_group=rg, infra_kubeconfig_path=str(kubeconfig)), env=env)
    assert refused.rc != 0
    msg = refused.task("Check the infra deployment exists")["msg"]
    assert f"neo4j-infra in resource group {rg}" in msg and "does not exist" in msg and "playbooks/infra.yml" in msg

    tolerated = run_playbook(outputs_play(env, infra_resource_group=rg, infra_kubeconfig_path=str(kubeconfig),
                                          infra_outputs_required=False), env=env)
    assert tolerated.rc == 0, tolerated
    assert tolerated.task("Show the facts")["msg"]["outputs"] == {}
    assert tolerated.changed() == 0
    assert not kubeconfig.exists()


def test_role_defaults_read_outputs_main_bicep_has():
    """The wiring (docs/DEVELOPING.md): each infra_outputs.<name> in a role's defaults or argument specs, or in a
    playbook, is an output of the compiled template, so none silently falls back to its default('')."""
    outputs = set(json.loads((ROLES / "infra" / "files" / "bicep" / "main.json").read_text())["outputs"])
    read = {}
    wired = sorted(ROLES.glob("*/defaults/main.yml")) + sorted(ROLES.glob("*/meta/argument_specs.yml"))
    for path in wired + sorted((REPO / "playbooks").glob("*.yml")):
        for name in re.findall(r"infra_outputs\.(\w+)", path.read_text()):
            read.setdefault(name, set()).add(str(path.relative_to(REPO)))
    assert read, "no role default reads infra_outputs"
    missing = {name: sorted(paths) for name, paths in read.items() if name not in outputs}
    assert not missing, f"role defaults read outputs main.bicep does not have: {missing}"


def test_neo4j_and_backup_get_their_own_identity():
    """The Neo4j pods' workload identity (the only one allowed to read the password secret) is not the backup job's."""
    def default(role, var):
        (value,) = re.findall(rf"^{var}: (.+)$", (ROLES / role / "defaults" / "main.yml").read_text(), re.M)
        return value
    assert "infra_outputs.neo4jIdentityClientId" in default("neo4j", "neo4j_workload_identity_client_id")
    for role, var in (("backup", "backup_workload_identity_client_id"),
                      ("restore", "restore_workload_identity_client_id")):
        assert "infra_outputs.backupIdentityClientId" in default(role, var)
