"""The ARM test double itself, driven by the real Azure SDK clients (no Ansible): strictness and shapes."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid

import pytest

from testenv.arm_double.client import ArmDoubleClient, module_defaults

pytest.importorskip("azure.mgmt.resource.deployments")

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (  # noqa: E402
    AzureClients, AzureOpError, azure_op)


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "arm")


@pytest.fixture(scope="module")
def clients(env):
    return AzureClients(dict(module_defaults(env), certificate_path=None, federated_token_file=None,
                             cloud_environment="AzureCloud"))


@pytest.fixture()
def rg(clients):
    name = "rg-dbl-" + uuid.uuid4().hex[:8]
    clients.resources.resource_groups.create_or_update(name, {"location": "westeurope"})
    yield name
    clients.resources.resource_groups.begin_delete(name, polling_interval=1).result()


def tmpl(resources, **extra):
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "resources": resources, **extra}


def body(template, parameters=None, mode="Incremental"):
    return {"properties": {"mode": mode, "template": template, "parameters": parameters or {}}}


VNET = {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "vnet1",
        "location": "[resourceGroup().location]",
        "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}


def what_if(clients, rg, payload):
    return clients.deployments.deployments.begin_what_if(rg, "d", payload, polling_interval=1).result().changes


def test_unknown_function_is_an_arm_error(clients, rg):
    bad = dict(VNET, name="[notAFunction('x')]")

    @azure_op("what-if")
    def call():
        return what_if(clients, rg, body(tmpl([bad])))
    with pytest.raises(AzureOpError) as err:
        call()
    assert err.value.code == "InvalidTemplate"
    assert "The template function 'notAFunction' is not valid" in str(err.value)


def test_missing_api_version_and_token_are_refused(env):
    tls = ssl.create_default_context(cafile=env["TESTENV_ARM_CA_BUNDLE"])
    url = f"{env['TESTENV_ARM_ENDPOINT']}/subscriptions/{env['TESTENV_AZURE_SUBSCRIPTION_ID']}/resourcegroups/x"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(url + "?api-version=2025-04-01"), context=tls, timeout=10)
    assert err.value.code == 401
    assert json.loads(err.value.read())["error"]["code"] == "AuthenticationFailed"
    assert "Bearer" in err.value.headers["WWW-Authenticate"]


def test_what_if_change_types_and_delta(clients, rg):
    ops = clients.deployments.deployments
    ops.begin_create_or_update(rg, "d", body(tmpl([VNET])), polling_interval=1).result()
    changed = dict(VNET, properties={"addressSpace": {"addressPrefixes": ["10.0.0.0/16", "10.1.0.0/16"]}})
    other = {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
             "name": "id1", "location": "westeurope"}
    [create, modify] = sorted(what_if(clients, rg, body(tmpl([changed, other]))), key=lambda c: c.change_type)
    assert create.change_type == "Create" and create.resource_id.endswith("/userAssignedIdentities/id1")
    assert modify.change_type == "Modify" and modify.before["properties"]["provisioningState"] == "Succeeded"
    [array] = modify.delta
    assert array.path == "properties.addressSpace.addressPrefixes" and array.property_change_type == "Array"
    assert array.children[0].property_change_type == "Create" and array.children[0].after == "10.1.0.0/16"

    only_other = what_if(clients, rg, body(tmpl([other])))
    assert sorted(c.change_type for c in only_other) == ["Create", "Ignore"]
    complete = what_if(clients, rg, body(tmpl([other]), mode="Complete"))
    assert sorted(c.change_type for c in complete) == ["Create", "Delete"]


def test_deployment_shapes_and_secure_parameters(clients, rg):
    template = tmpl([], parameters={"pw": {"type": "securestring"}, "n": {"type": "int", "defaultValue": 2}},
                    outputs={"twice": {"type": "int", "value": "[mul(parameters('n'), 2)]"},
                             "name": {"type": "string",
                                      "value": "[format('{0}-{1}', resourceGroup().name, "
                                               "uniqueString(resourceGroup().id))]"}})
    result = clients.deployments.deployments.begin_create_or_update(
        rg, "shape", body(template, {"pw": {"value": "hush-hush"}}), polling_interval=1).result()
    props = result.properties
    assert props.provisioning_state == "Succeeded" and props.correlation_id and props.duration.startswith("PT")
    assert props.outputs["twice"] == {"type": "Int", "value": 4}
    assert props.outputs["name"]["value"].startswith(rg + "-")
    assert props.parameters["pw"] == {"type": "SecureString"}
    assert "hush-hush" not in json.dumps(result.as_dict())


def test_request_log_and_counters(env, clients, rg):
    arm = ArmDoubleClient(env)
    seq = arm.last_seq()
    clients.resources.resource_groups.get(rg)
    [entry] = [e for e in arm.requests(seq) if e["operation"] != "TestEnv"]
    assert entry["operation"] == "ResourceGroups_Get" and entry["status"] == 200
    assert entry["api_version"] and "body" not in entry
    assert arm.counters()["ResourceGroups_Get"] >= 1


def test_reference_to_a_resource_created_by_the_same_deployment(clients, rg):
    """ARM evaluates reference() when the referenced resource exists (dependsOn), not at preflight."""
    identity = {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2024-11-30",
                "name": "id-app", "location": "westeurope"}
    ref = "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-app'), '2024-11-30')"
    tagged = dict(VNET, tags={"principal": ref + ".principalId]"},
                  dependsOn=["[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-app')]"])
    template = tmpl([identity, tagged], outputs={"clientId": {"type": "string", "value": ref + ".clientId]"}})
    changes = what_if(clients, rg, body(template))
    vnet = next(c for c in changes if c.resource_id.endswith("/vnet1"))
    assert vnet.change_type == "Create" and vnet.after["tags"]["principal"].startswith("[reference(")
    result = clients.deployments.deployments.begin_create_or_update(rg, "ref", body(template),
                                                                    polling_interval=1).result()
    assert result.properties.provisioning_state == "Succeeded"
    assert len(result.properties.outputs["clientId"]["value"]) == 36
    assert {c.change_type for c in what_if(clients, rg, body(template))} == {"NoChange"}
