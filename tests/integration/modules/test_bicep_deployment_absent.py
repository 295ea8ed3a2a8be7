"""bicep_deployment state=absent with delete_resources against the ARM test double: check mode lists and deletes
nothing; apply deletes children before parents, retries what is still in use, keeps the kept types and what
is below them; a re-run changes nothing. Verified in the double's state and request log."""

from __future__ import annotations

import json
import uuid

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureClients, AzureOpError, azure_op
from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import FILES, localhost_play, run_playbook

KEEP = ["Microsoft.Storage/storageAccounts"]

# A storage account with a blob container (kept), an NSG, a vnet whose inline subnet uses the NSG, and a
# child subnet deployed as its own resource.
TEMPLATE = json.loads((FILES / "arm" / "destroy.json").read_text())


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "arm")


@pytest.fixture()
def rg(env):
    name = "rg-destroy-" + uuid.uuid4().hex[:8]
    yield name
    run_playbook(play(env, {"name": "clean up", "neo4j_azure.aks.bicep_deployment": {
        "name": "small", "resource_group": name, "state": "absent", "delete_resource_group": True}}), env=env)


def play(env, *tasks):
    return localhost_play(list(tasks), module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})


def deploy(rg_name):
    return {"name": "deploy", "neo4j_azure.aks.bicep_deployment": {
        "name": "small", "resource_group": rg_name, "create_resource_group": True, "location": "westeurope",
        "template": TEMPLATE}}


def destroy(rg_name, keep=None):
    return {"name": "destroy", "neo4j_azure.aks.bicep_deployment": {
        "name": "small", "resource_group": rg_name, "state": "absent", "delete_resources": True,
        "keep_resource_types": KEEP if keep is None else keep}}


def short(ids, rg_name):
    return [i.split(f"/resourceGroups/{rg_name}", 1)[1] for i in ids]


def test_delete_resources_check_apply_keep_idempotent(env, rg):
    arm = ArmDoubleClient(env)
    res = run_playbook(play(env, deploy(rg)), env=env)
    assert res.rc == 0, res
    before, deployments = arm.held(rg)
    assert "small" in deployments
    storage = next(r for r in before if r.startswith("/providers/Microsoft.Storage/storageAccounts/")
                   and "/blobServices/" not in r)
    vnet = "/providers/Microsoft.Network/virtualNetworks/dstr-vnet"
    nsg = "/providers/Microsoft.Network/networkSecurityGroups/dstr-nsg"
    subnet = vnet + "/subnets/extra"
    container = storage + "/blobServices/default/containers/backups"
    assert {storage, container, nsg, vnet, subnet} <= before

    # Check mode: what would go (children first) and what stays; nothing is deleted.
    seq = arm.last_seq()
    res = run_playbook(play(env, destroy(rg)), env=env, check=True, diff=True)
    assert res.rc == 0, res
    checked = res.task("destroy")
    assert checked["changed"] is True
    assert short(checked["deleted_resources"], rg) == [subnet, nsg, vnet]
    assert short(checked["kept_resources"], rg) == [storage, container]
    assert not [r for r in arm.requests(seq) if r["method"] == "DELETE"]
    assert arm.held(rg) == (before, deployments)

    # Apply: the subnet before its vnet; the NSG is refused while the vnet uses it, then deleted after it.
    seq = arm.last_seq()
    res = run_playbook(play(env, destroy(rg)), env=env)
    assert res.rc == 0, res
    applied = res.task("destroy")
    assert applied["changed"] is True
    assert short(applied["deleted_resources"], rg) == [subnet, vnet, nsg]
    assert short(applied["kept_resources"], rg) == [storage, container]
    deletes = [(r["path"].split(f"/resourceGroups/{rg}", 1)[-1], r["status"]) for r in arm.requests(seq)
               if r["method"] == "DELETE"]
    assert deletes[:4] == [(subnet, 202), (nsg, 400), (vnet, 202), (nsg, 202)], deletes
    assert deletes[4][0].endswith("/deployments/small")
    after, deployments = arm.held(rg)
    assert after == {storage, container}
    assert "small" not in deployments
    ops = {r["operation"] for r in arm.requests(seq)}
    assert {"Providers_Get", "Resources_GetById", "Resources_DeleteById"} <= ops

    # Gone from GET as well (the real SDK client, an api-version the provider registers).
    clients = AzureClients(module_defaults(env))
    read = azure_op("read", missing_ok=True)(
        lambda rid: clients.resources.resources.get_by_id(rid, api_version="2024-07-01"))
    prefix = f"/subscriptions/{env['TESTENV_AZURE_SUBSCRIPTION_ID']}/resourceGroups/{rg}"
    assert read(prefix + vnet) is None
    with pytest.raises(AzureOpError) as err:
        azure_op("read")(clients.resources.resources.get_by_id)(prefix + storage, api_version="2019-01-01")
    assert err.value.code == "NoRegisteredProviderFound"

    # Second run: the deployment is gone, nothing left to delete.
    seq = arm.last_seq()
    res = run_playbook(play(env, destroy(rg)), env=env)
    assert res.rc == 0, res
    again = res.task("destroy")
    assert again["changed"] is False
    assert again["deleted_resources"] == [] and again["kept_resources"] == []
    assert not [r for r in arm.requests(seq) if r["method"] == "DELETE"]
    assert arm.held(rg)[0] == {storage, container}


def test_without_keep_everything_goes(env, rg):
    arm = ArmDoubleClient(env)
    assert run_playbook(play(env, deploy(rg)), env=env).rc == 0
    res = run_playbook(play(env, destroy(rg, keep=[])), env=env)
    assert res.rc == 0, res
    assert res.task("destroy")["kept_resources"] == []
    assert arm.held(rg) == (set(), set())
    # the group itself stays: only delete_resource_group deletes it
    assert any(g["name"] == rg for g in arm.state()["resourceGroups"])
