"""The ARM test double itself, driven by the real Azure SDK clients (no Ansible): strictness and shapes."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid

import pytest

from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import private_arm_double

pytest.importorskip("azure.mgmt.resource.deployments")

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (  # noqa: E402
    AzureClients, AzureOpError, azure_op)


@pytest.fixture(scope="module")
def env(testenv_for, tmp_path_factory):
    """A double of its own, started from the checkout's code (the shared one may run an older copy)."""
    kube = testenv_for("kube")
    with private_arm_double(tmp_path_factory.mktemp("arm"), kube.get("KUBECONFIG", "")) as arm:
        yield {**kube, **arm.env}


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


def module(name, resources, parameters=None, declared=None, outputs=None, depends_on=None):
    """A nested deployment shaped as Bicep compiles a module (inner expression scope, Incremental)."""
    return {"type": "Microsoft.Resources/deployments", "apiVersion": "2025-04-01", "name": name,
            "dependsOn": depends_on or [],
            "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                           "parameters": parameters or {},
                           "template": tmpl(resources, parameters=declared or {}, outputs=outputs or {})}}


IDENTITY = {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2024-11-30",
            "name": "[parameters('identityName')]", "location": "westeurope"}
NAMES_OUTPUT = "[reference(resourceId('Microsoft.Resources/deployments', 'names'), '2025-04-01').outputs.name.value]"


def two_modules(identity_name):
    """Module 'network' (a VNet) and module 'identity' (an identity named by its parameter)."""
    return tmpl([module("network", [VNET]),
                 module("identity", [IDENTITY], parameters={"identityName": {"value": identity_name}},
                        declared={"identityName": {"type": "string"}})])


def test_no_op_what_if_lists_module_resources_once(clients, rg):
    """Resources nested deployments deploy belong to the template: NoChange once, with the module's deployment
    id; only what no deployment of the template names is Ignore."""
    ops = clients.deployments.deployments
    ops.begin_create_or_update(rg, "main", body(two_modules("id-app")), polling_interval=1).result()
    stray = {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2024-11-30",
             "name": "id-stray", "location": "westeurope"}
    ops.begin_create_or_update(rg, "stray", body(tmpl([stray])), polling_interval=1).result()

    result = ops.begin_what_if(rg, "main", body(two_modules("id-app")), polling_interval=1).result()
    by_id = {}
    for change in result.changes:
        assert change.resource_id.lower() not in by_id, f"listed twice: {change.resource_id}"
        by_id[change.resource_id.lower()] = change
    assert sorted(c.change_type for c in result.changes) == ["Ignore", "NoChange", "NoChange"]
    vnet = next(c for k, c in by_id.items() if k.endswith("/virtualnetworks/vnet1"))
    assert vnet.change_type == "NoChange" and vnet.deployment_id.endswith("/deployments/network")
    assert next(c for k, c in by_id.items() if k.endswith("/id-stray")).change_type == "Ignore"
    assert not result.diagnostics

    complete = ops.begin_what_if(rg, "main", body(two_modules("id-app"), mode="Complete"), polling_interval=1)
    assert sorted(c.change_type for c in complete.result().changes) == ["Delete", "NoChange", "NoChange"]


def test_module_with_runtime_parameter_is_short_circuited(env, clients, rg):
    """A module whose parameter comes from another module's outputs is not evaluated by what-if (ARM does not):
    a successful what-if with ARM's NestedDeploymentShortCircuited diagnostic, its resources left out (or Ignore
    once they exist); the deployment itself evaluates the output and names the identity from it."""
    names = module("names", [], outputs={"name": {"type": "string", "value": "id-from-output"}})
    template = tmpl([names, dict(module("identity", [IDENTITY], parameters={"identityName": {"value": NAMES_OUTPUT}},
                                        declared={"identityName": {"type": "string"}}),
                                 dependsOn=["[resourceId('Microsoft.Resources/deployments', 'names')]"])])
    ops = clients.deployments.deployments
    arm = ArmDoubleClient(env)
    seq = arm.last_seq()
    first = ops.begin_what_if(rg, "main", body(template), polling_interval=1).result()
    assert first.status == "Succeeded" and first.changes == []
    [diagnostic] = first.diagnostics
    assert (diagnostic.level, diagnostic.code) == ("Warning", "NestedDeploymentShortCircuited")
    assert diagnostic.target.lower() == (f"/subscriptions/{env['TESTENV_AZURE_SUBSCRIPTION_ID']}/resourceGroups/"
                                         f"{rg}/providers/Microsoft.Resources/deployments/identity").lower()
    assert "reference()" in diagnostic.message
    assert not [e for e in arm.requests(seq) if e["method"] == "PUT"], "what-if wrote something"

    ops.begin_create_or_update(rg, "main", body(template), polling_interval=1).result()
    resources, deployments = arm.held(rg)
    assert "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-from-output" in resources
    assert {"main", "names", "identity"} <= deployments
    again = ops.begin_what_if(rg, "main", body(template), polling_interval=1).result()
    assert [(c.change_type, c.resource_id.rsplit("/", 1)[-1]) for c in again.changes] == [("Ignore", "id-from-output")]
    assert [d.code for d in again.diagnostics] == ["NestedDeploymentShortCircuited"]


def test_module_with_deploy_time_parameters_is_evaluated(clients, rg):
    """The same module with a deploy-time name is expanded: a change inside it shows as a Modify."""
    ops = clients.deployments.deployments
    ops.begin_create_or_update(rg, "main", body(two_modules("id-app")), polling_interval=1).result()
    wider = tmpl([module("network", [dict(VNET, properties={"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}})]),
                  module("identity", [IDENTITY], parameters={"identityName": {"value": "id-app"}},
                         declared={"identityName": {"type": "string"}})])
    result = ops.begin_what_if(rg, "main", body(wider), polling_interval=1).result()
    assert sorted(c.change_type for c in result.changes) == ["Modify", "NoChange"] and not result.diagnostics
