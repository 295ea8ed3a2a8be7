"""azure_deployment: what-if summarising, parameter handling and redaction of bicep_deployment; and state=absent
with delete_resources (which resources go, in which order, the retry of deletes refused because something
still uses the resource), with fake SDK clients and no network."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure_bicep, azure_deployment as dep
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError

TEMPLATE = {"parameters": {"n": {"type": "int"}, "flag": {"type": "bool", "defaultValue": False},
                           "pw": {"type": "securestring"}, "tags": {"type": "object", "defaultValue": {}}}}


def test_parameters_are_coerced_and_secrets_collected():
    arm, secrets = dep.build_parameters(TEMPLATE, {"n": "3", "flag": "true", "pw": "s3cret"})
    assert arm == {"n": {"value": 3}, "flag": {"value": True}, "pw": {"value": "s3cret"}}
    assert secrets == ["s3cret"]


def test_option_values_override_file_values():
    arm = dep.build_parameters(TEMPLATE, {"n": 5, "pw": "x"}, {"n": 1, "flag": True})[0]
    assert arm["n"] == {"value": 5} and arm["flag"] == {"value": True}


@pytest.mark.parametrize("values, text", [
    ({"n": "three", "pw": "x"}, "parameters.n must be an integer"),
    ({"n": True, "pw": "x"}, "parameters.n must be an integer"),
    ({"n": 1, "pw": "x", "tags": []}, "parameters.tags"),
    ({"n": 1, "pw": "x", "nope": 1}, "nope are not declared"),
    ({"pw": "x"}, "needs a value for parameter(s) n"),
])
def test_bad_parameters_name_the_option(values, text):
    with pytest.raises(AzureOpError) as err:
        dep.build_parameters(TEMPLATE, values)
    assert text in str(err.value) and err.value.option == "parameters"


def test_parameters_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"$schema": "x", "parameters": {"n": {"value": 4}}}))
    assert azure_bicep.load_parameters_file(str(path)) == {"n": 4}
    path.write_text(json.dumps({"parameters": {"n": {"reference": {}}}}))
    with pytest.raises(AzureOpError) as err:
        azure_bicep.load_parameters_file(str(path))
    assert err.value.option == "parameters_file"


def test_missing_template_file_and_bicep_without_cli(tmp_path, monkeypatch):
    with pytest.raises(AzureOpError) as err:
        azure_bicep.load_template(str(tmp_path / "missing.json"))
    assert err.value.option == "template_file"
    source = tmp_path / "main.bicep"
    source.write_text("")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AzureOpError) as err:
        azure_bicep.load_template(str(source))
    assert err.value.option == "template_file" and "bicep_path" in str(err.value)


CHANGES = [
    {"resourceId": "/s/1/rg/a/p/X.Y/z/one", "changeType": "NoChange", "before": {}, "after": {}},
    {"resourceId": "/s/1/rg/a/p/X.Y/z/two", "changeType": "Ignore", "before": {}},
    {"resourceId": "/s/1/rg/a/p/X.Y/z/three", "changeType": "Modify",
     "before": {"id": "i", "properties": {"days": 7, "secret": "hush", "provisioningState": "Succeeded"}},
     "after": {"id": "i", "properties": {"days": 30, "secret": "hush"}},
     "delta": [{"path": "properties.days", "propertyChangeType": "Modify", "before": 7, "after": 30},
               {"path": "properties.list", "propertyChangeType": "Array",
                "children": [{"path": "0", "propertyChangeType": "Create", "after": "b"}]}]},
    {"resourceId": "/s/1/rg/a/p/X.Y/z/four", "changeType": "Create", "after": {"name": "four"}},
]


def test_summarize_what_if():
    summary, changed, diffs = dep.summarize_what_if(CHANGES, ["hush"])
    assert summary == {"NoChange": 1, "Ignore": 1, "Modify": 1, "Create": 1}
    assert [c["change_type"] for c in changed] == ["Modify", "Create"]
    assert changed[0]["changed_paths"] == ["properties.days", "properties.list.0"]
    assert diffs[0]["before"] == {"properties": {"days": 7, "secret": dep.REDACTED}}
    assert diffs[0]["after"]["properties"]["days"] == 30
    assert diffs[1]["before"] == {} and diffs[1]["after"] == {"name": "four"}
    assert "hush" not in json.dumps(diffs)


class Deployment:
    class properties:  # noqa: N801  (shape of the SDK model)
        provisioning_state = "Succeeded"


def test_needs_deploy():
    no_change = CHANGES[:2]
    assert dep.needs_deploy(no_change, Deployment()) is False
    assert dep.needs_deploy(no_change, None) is True
    assert dep.needs_deploy(CHANGES, Deployment()) is True


def test_blame_parameter_names_the_option():
    err = AzureOpError("what-if failed", code="InvalidTemplate",
                       error={"code": "InvalidTemplateDeployment", "details": [{"code": "InvalidTemplate",
                                                                                "target": "N"}]})
    out = dep.blame_parameter(err, {"parameters": {"n": {"type": "int"}}})
    assert out.option == "parameters" and "parameters.n" in str(out)


# state=absent with delete_resources

RG = "/subscriptions/s1/resourceGroups/rg1"
NET = RG + "/providers/Microsoft.Network"
VNET = NET + "/virtualNetworks/vnet1"
SUBNET = VNET + "/subnets/aks"
NSG = NET + "/networkSecurityGroups/nsg1"
SUBNET_ROLE = SUBNET + "/providers/Microsoft.Authorization/roleAssignments/r1"
STORAGE = RG + "/providers/Microsoft.Storage/storageAccounts/st1"
CONTAINER = STORAGE + "/blobServices/default/containers/backups"
STORAGE_ROLE = STORAGE + "/providers/Microsoft.Authorization/roleAssignments/r2"
VAULT = RG + "/providers/Microsoft.KeyVault/vaults/kv1"
KEEP = ["Microsoft.Storage/storageAccounts", "microsoft.keyvault/VAULTS"]


@pytest.mark.parametrize("rid, expected", [
    (SUBNET, ("Microsoft.Network", "virtualNetworks/subnets")),
    (SUBNET_ROLE, ("Microsoft.Authorization", "roleAssignments")),
    (CONTAINER, ("Microsoft.Storage", "storageAccounts/blobServices/containers")),
    (RG, ("Microsoft.Resources", "resourceGroups")),
])
def test_resource_type_of_an_id(rid, expected):
    assert dep.resource_type(rid) == expected


def test_deletion_order_children_first_and_kept_types_with_what_is_below_them():
    ids = [VNET, STORAGE, NSG, SUBNET, CONTAINER, SUBNET_ROLE, VAULT, STORAGE_ROLE, SUBNET]
    to_delete, kept = dep.plan_deletion(ids, KEEP)
    assert to_delete == [SUBNET_ROLE, SUBNET, NSG, VNET]
    assert kept == [STORAGE, CONTAINER, VAULT, STORAGE_ROLE]


def test_nothing_kept_by_default_and_resource_groups_never_deleted():
    to_delete, kept = dep.plan_deletion([RG, VNET, STORAGE], [])
    assert to_delete == [VNET, STORAGE] and kept == [RG]


@pytest.mark.parametrize("versions, expected", [
    (["2023-05-01", "2025-01-01", "2025-06-01-preview"], "2025-01-01"),
    (["2024-01-01-preview", "2023-01-01-preview"], "2024-01-01-preview"),
    ([], None),
])
def test_api_version_newest_stable(versions, expected):
    assert dep.pick_api_version(versions) == expected


# -- the runner against fake clients ---------------------------------------------------------------------------

class Poller:
    def result(self, timeout=None):
        return None

    def done(self):
        return True


class FakeArm:
    """Generic resources and providers of a fake subscription. in_use: {id: id of what uses it}."""

    def __init__(self, held, in_use=None, missing_providers=()):
        self.held = set(held)
        self.in_use = dict(in_use or {})
        self.missing_providers = set(missing_providers)
        self.calls = []
        self.deployment = SimpleNamespace(properties=SimpleNamespace(
            output_resources=[SimpleNamespace(id=r) for r in held], provisioning_state="Succeeded"))
        self.resources = SimpleNamespace(providers=SimpleNamespace(get=self.provider),
                                         resources=SimpleNamespace(get_by_id=self.get_by_id,
                                                                   begin_delete_by_id=self.delete_by_id))
        ops = SimpleNamespace(get=self.get_deployment, begin_delete=self.delete_deployment)
        self.deployments = SimpleNamespace(deployments=ops)

    def provider(self, namespace):
        self.calls.append(("provider", namespace))
        types = {"Microsoft.Network": ["virtualNetworks", "virtualNetworks/subnets", "networkSecurityGroups"],
                 "Microsoft.Authorization": ["roleAssignments"],
                 "Microsoft.Storage": ["storageAccounts", "storageAccounts/blobServices/containers"],
                 "Microsoft.KeyVault": ["vaults"]}
        if namespace in self.missing_providers:
            return SimpleNamespace(resource_types=[])
        return SimpleNamespace(resource_types=[
            SimpleNamespace(resource_type=t, api_versions=["2024-07-01", "2099-01-01-preview", "2023-01-01"])
            for t in types[namespace]])

    def get_by_id(self, rid, api_version):
        assert api_version == "2024-07-01"
        self.calls.append(("get", rid))
        if rid not in self.held:
            raise FakeNotFound()
        return {"id": rid}

    def delete_by_id(self, rid, api_version, **_):
        self.calls.append(("delete", rid))
        user = self.in_use.get(rid)
        if user in self.held:
            raise AzureOpError("in use by %s" % user, code="InUseNetworkSecurityGroupCannotBeDeleted",
                               status_code=400)
        self.held.discard(rid)
        return Poller()

    def get_deployment(self, rg, name):
        return self.deployment if self.deployment else None

    def delete_deployment(self, rg, name, **_):
        self.calls.append(("delete deployment", name))
        self.deployment = None
        return Poller()


class FakeNotFound(Exception):
    status_code = 404
    error = None


@pytest.fixture(autouse=True)
def not_found_is_none(monkeypatch):
    """azure_op maps SDK errors; the fakes raise a plain 404 that it must treat as 'not found'."""
    from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure
    monkeypatch.setattr(azure, "AzureError", Exception)


def runner(arm, check_mode=False, keep=None):
    params = {"name": "infra", "resource_group": "rg1", "delete_resources": True,
              "keep_resource_types": KEEP if keep is None else keep}
    return dep.DeploymentRunner(arm, params, check_mode)


def test_check_mode_lists_and_deletes_nothing():
    arm = FakeArm([VNET, SUBNET, STORAGE, CONTAINER])
    arm.held.discard(SUBNET)  # already gone: not listed as to be deleted
    result = runner(arm, check_mode=True).ensure_absent()
    assert result["changed"] is True
    assert result["deleted_resources"] == [VNET]
    assert result["kept_resources"] == [STORAGE, CONTAINER]
    assert not [c for c in arm.calls if c[0].startswith("delete")]
    assert arm.deployment is not None


def test_apply_deletes_in_order_retries_in_use_then_converges():
    # The NSG sorts before the vnet but the vnet's subnet still uses it: refused, then retried and deleted.
    arm = FakeArm([NSG, VNET, SUBNET, SUBNET_ROLE, STORAGE], in_use={NSG: VNET})
    result = runner(arm).ensure_absent()
    assert result["changed"] is True
    assert result["deleted_resources"] == [SUBNET_ROLE, SUBNET, VNET, NSG]
    assert result["kept_resources"] == [STORAGE]
    deletes = [c[1] for c in arm.calls if c[0] == "delete"]
    assert deletes == [SUBNET_ROLE, SUBNET, NSG, VNET, NSG]
    assert arm.held == {STORAGE}
    assert arm.calls[-1] == ("delete deployment", "infra")
    # one provider read per namespace
    assert sorted(c[1] for c in arm.calls if c[0] == "provider") == ["Microsoft.Authorization", "Microsoft.Network"]

    again = runner(arm).ensure_absent()
    assert (again["changed"], again["deleted_resources"], again["kept_resources"]) == (False, [], [])


def test_in_use_by_something_outside_fails_naming_it_and_what_was_deleted():
    outside = RG + "/providers/Microsoft.Network/networkInterfaces/nic1"
    arm = FakeArm([NSG, VNET])
    arm.held.add(outside)
    arm.in_use = {NSG: outside}
    with pytest.raises(AzureOpError) as err:
        runner(arm).ensure_absent()
    assert NSG in str(err.value) and "still in use" in str(err.value)
    assert err.value.details["deleted_resources"] == [VNET]
    assert arm.deployment is not None  # the record stays, so a re-run finds the rest


def test_type_without_api_version_is_named():
    arm = FakeArm([VNET], missing_providers={"Microsoft.Network"})
    with pytest.raises(AzureOpError) as err:
        runner(arm, keep=[]).ensure_absent()
    assert "virtualNetworks" in str(err.value) and err.value.code == "NoRegisteredProviderFound"


# What-if verdicts: NoEffect, Unsupported, blind spots (short-circuited nested deployments), failures

def test_modify_with_only_no_effect_properties_is_no_change():
    no_effect = {"resourceId": "/s/1/rg/a/p/X.Y/z/five", "changeType": "Modify",
                 "delta": [{"path": "properties.provisioningState", "propertyChangeType": "NoEffect"},
                           {"path": "properties.x", "propertyChangeType": "Modify",
                            "children": [{"path": "y", "propertyChangeType": "NoEffect"}]}]}
    summary, changed, _diffs = dep.summarize_what_if([no_effect])
    assert summary == {"NoChange": 1} and changed == []
    assert dep.needs_deploy([no_effect], Deployment()) is False
    mixed = dict(no_effect, delta=no_effect["delta"] + [{"path": "properties.z", "propertyChangeType": "Modify"}])
    assert dep.needs_deploy([mixed], Deployment()) is True


def test_unsupported_change_keeps_its_reason():
    change = {"resourceId": "/s/1/rg/a/p/X.Y/z/six", "changeType": "Unsupported",
              "unsupportedReason": "The resource is deployed by a nested template with a runtime name"}
    _summary, changed, _diffs = dep.summarize_what_if([change])
    assert changed[0]["unsupported_reason"].startswith("The resource is deployed")


class WhatIfArm:
    """Deployments of a fake resource group: what-if answers `changes`/`diagnostics`/`error`; PUTs are counted."""

    def __init__(self, changes=(), diagnostics=(), error=None, state="Succeeded", deploy_error=None):
        self.puts = 0
        self.what_if_result = SimpleNamespace(changes=list(changes), diagnostics=list(diagnostics), error=error)
        self.existing = SimpleNamespace(id="/d/infra", properties=SimpleNamespace(
            provisioning_state=state, outputs={"o": {"value": 1}}, error=None, correlation_id="c1",
            duration="PT1S", timestamp=None))
        self.deploy_error = deploy_error
        ops = SimpleNamespace(begin_what_if=lambda rg, name, body, **_: Done(self.what_if_result),
                              get=lambda rg, name: self.existing,
                              begin_validate=lambda rg, name, body, **_: Done(SimpleNamespace(error=None)),
                              begin_create_or_update=self.put)
        self.deployments = SimpleNamespace(deployments=ops)

    def put(self, rg, name, body, **_):
        self.puts += 1
        if self.deploy_error:
            raise self.deploy_error
        return Done(self.existing)


class Done:
    def __init__(self, value):
        self.value = value

    def result(self, timeout=None):
        return self.value

    def done(self):
        return True


SHORT_CIRCUIT = {"level": "Warning", "code": "NestedDeploymentShortCircuited",
                 "message": "A nested deployment got short-circuited and all its resources got skipped",
                 "target": "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Resources/deployments/identity"}


def present(arm, check_mode=False, **params):
    runner_ = dep.DeploymentRunner(arm, {"name": "infra", "resource_group": "rg1", **params}, check_mode)
    return runner_, runner_.ensure_present({"resources": []}, {}, [])


def test_no_change_without_diagnostics_sends_no_put():
    arm = WhatIfArm(changes=[CHANGES[0]])
    runner_, result = present(arm)
    assert result["changed"] is False and arm.puts == 0 and runner_.warnings == []


def test_short_circuited_what_if_deploys_and_warns_naming_the_nested_deployment():
    arm = WhatIfArm(changes=[CHANGES[1]], diagnostics=[SHORT_CIRCUIT])
    runner_, result = present(arm)
    assert result["changed"] is True and arm.puts == 1
    assert result["what_if"]["diagnostics"] == [SHORT_CIRCUIT]
    assert "deployments/identity" in runner_.warnings[0] and "NestedDeploymentShortCircuited" in runner_.warnings[0]
    arm = WhatIfArm(changes=[CHANGES[1]], diagnostics=[SHORT_CIRCUIT])
    _runner, result = present(arm, check_mode=True)
    assert result["changed"] is True and arm.puts == 0


def test_short_circuited_what_if_fails_when_asked_before_any_write():
    arm = WhatIfArm(changes=[CHANGES[1]], diagnostics=[SHORT_CIRCUIT])
    with pytest.raises(AzureOpError) as err:
        present(arm, what_if_short_circuit="fail")
    assert err.value.option == "what_if_short_circuit" and "deployments/identity" in str(err.value)
    assert arm.puts == 0


def test_failed_what_if_shows_the_whole_error_tree():
    error = SimpleNamespace(as_dict=lambda: {
        "code": "DeploymentWhatIfResourceError", "message": "See the details.",
        "details": [{"code": "AuthorizationFailed", "message": "client x may not write roleAssignments"}]})
    arm = WhatIfArm(error=error)
    with pytest.raises(AzureOpError) as err:
        present(arm)
    assert "DeploymentWhatIfResourceError" in str(err.value) and "AuthorizationFailed" in str(err.value)
    assert "may not write roleAssignments" in str(err.value) and arm.puts == 0


def test_canceled_deployment_reports_its_state():
    arm = WhatIfArm(changes=[CHANGES[3]], deploy_error=AzureOpError("deploy failed (HTTP 200) DeploymentCanceled",
                                                                    code="DeploymentCanceled"))
    arm.existing.properties.provisioning_state = "Canceled"
    with pytest.raises(AzureOpError) as err:
        present(arm)
    assert "ended Canceled" in str(err.value) and "HTTP 200" not in str(err.value)
    assert err.value.details.get("provisioning_state") == "Canceled"
