"""bicep_deployment against the ARM test double, through real ansible-playbook runs.

Every run authenticates with the real azure-identity ClientSecretCredential against the double's Entra ID
endpoint and talks HTTPS to its Resource Manager; the double's request log says what was sent.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from testenv.arm_double.client import ArmDoubleClient, count_ops, module_defaults
from testenv_client import FILES as TEST_FILES, localhost_play, run_playbook

FILES = TEST_FILES / "arm"
TEMPLATE = str(FILES / "storage.json")
PASSWORD = "Neo4j-" + uuid.uuid4().hex  # a secure parameter: must never show up in any output


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "arm")


@pytest.fixture()
def arm(env):
    client = ArmDoubleClient(env)
    client.clear_faults()
    yield client
    client.clear_faults()


@pytest.fixture()
def rg():
    return "rg-it-" + uuid.uuid4().hex[:8]


def deploy_task(rg_name, name="storage", register="out", **overrides):
    args = {"name": name, "resource_group": rg_name, "create_resource_group": True, "location": "westeurope",
            "template_file": TEMPLATE,
            "parameters": {"prefix": "itst", "adminPassword": PASSWORD, "retentionDays": 7}}
    params = overrides.pop("parameters", None)
    if params:
        args["parameters"].update(params)
    args.update(overrides)
    return {"name": "deploy template", "neo4j_azure.aks.bicep_deployment": args, "register": register}


def play(env, *tasks):
    return localhost_play(list(tasks), module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})


def puts(requests):
    return [r for r in requests if r["method"] == "PUT" and "/deployments/" in r["path"]]


def test_check_apply_idempotent_change(env, arm, rg):
    # Check mode on a group that does not exist: nothing is created, the diff says the group would be.
    seq = arm.last_seq()
    res = run_playbook(play(env, deploy_task(rg)), env=env, check=True, diff=True)
    assert res.rc == 0, res
    assert res.task("deploy template")["changed"] is True
    assert not [r for r in arm.requests(seq) if r["method"] in ("PUT", "DELETE")]

    # Create the group first (apply), then check mode must show the what-if per resource and send no PUT.
    res = run_playbook(play(env, deploy_task(rg)), env=env)
    assert res.rc == 0, res
    first = res.task("deploy template")
    assert first["changed"] is True
    assert first["what_if"]["summary"] == {"Create": 4}
    assert first["provisioning_state"] == "Succeeded"
    assert first["outputs"]["retentionDays"] == 7
    assert first["outputs"]["minimumTlsVersion"] == "TLS1_2"
    assert first["correlation_id"] and first["duration"].startswith("PT")
    state = arm.state()
    names = {r["name"] for r in state["resources"] if f"/resourceGroups/{rg}/" in r["id"]}
    assert first["outputs"]["storageAccountName"] in names

    # Second apply: what-if says NoChange everywhere -> no PUT, changed=false, outputs still returned.
    seq = arm.last_seq()
    res = run_playbook(play(env, deploy_task(rg)), env=env)
    assert res.rc == 0, res
    second = res.task("deploy template")
    assert second["changed"] is False
    assert second["what_if"]["summary"] == {"NoChange": 4}
    assert second["outputs"] == first["outputs"]
    assert puts(arm.requests(seq)) == []

    # A changed parameter: check mode shows exactly that property, sends no PUT.
    seq = arm.last_seq()
    res = run_playbook(play(env, deploy_task(rg, parameters={"retentionDays": 30})), env=env, check=True,
                       diff=True)
    assert res.rc == 0, res
    checked = res.task("deploy template")
    assert checked["changed"] is True
    assert checked["what_if"]["summary"] == {"Modify": 1, "NoChange": 3}
    [change] = checked["what_if"]["changes"]
    assert change["change_type"] == "Modify"
    assert change["changed_paths"] == ["properties.deleteRetentionPolicy.days"]
    assert change["resource_id"].endswith("/blobServices/default")
    [diff] = checked["diff"]
    assert diff["before"]["properties"]["deleteRetentionPolicy"]["days"] == 7
    assert diff["after"]["properties"]["deleteRetentionPolicy"]["days"] == 30
    assert puts(arm.requests(seq)) == []

    # Apply it (a Jinja string for an int parameter is converted), then it converges.
    res = run_playbook(play(env, deploy_task(rg, parameters={"retentionDays": "30"})), env=env)
    assert res.rc == 0, res
    assert res.task("deploy template")["changed"] is True
    assert res.task("deploy template")["outputs"]["retentionDays"] == 30
    res = run_playbook(play(env, deploy_task(rg, parameters={"retentionDays": 30})), env=env)
    assert res.task("deploy template")["changed"] is False

    # state=absent removes the deployment object only; then the group on request.
    absent = {"name": "remove", "neo4j_azure.aks.bicep_deployment": {
        "name": "storage", "resource_group": rg, "state": "absent", "delete_resource_group": True}}
    res = run_playbook(play(env, absent), env=env, check=True)
    assert res.task("remove")["changed"] is True
    assert any(g["name"] == rg for g in arm.state()["resourceGroups"])
    res = run_playbook(play(env, absent), env=env)
    assert res.rc == 0 and res.task("remove")["changed"] is True, res
    assert not any(g["name"] == rg for g in arm.state()["resourceGroups"])
    res = run_playbook(play(env, absent), env=env)
    assert res.task("remove")["changed"] is False


def test_request_counts_first_apply_and_noop(env, arm, rg):
    seq = arm.last_seq()
    assert run_playbook(play(env, deploy_task(rg)), env=env).rc == 0
    first = count_ops(arm.requests(seq))
    seq = arm.last_seq()
    assert run_playbook(play(env, deploy_task(rg)), env=env).rc == 0
    noop = count_ops(arm.requests(seq))
    print(f"\nARM requests, first apply: {sum(first.values())} {first}")
    print(f"ARM requests, no-op re-apply: {sum(noop.values())} {noop}")
    assert "Deployments_CreateOrUpdate" in first and "Deployments_Validate" in first
    assert "Deployments_CreateOrUpdate" not in noop and "Deployments_Validate" not in noop
    assert noop["Deployments_WhatIf"] == 1


def test_failed_deployment_returns_arm_error_then_converges(env, arm, rg):
    assert run_playbook(play(env, {"name": "group", "neo4j_azure.aks.bicep_deployment": {
        "name": "empty", "resource_group": rg, "create_resource_group": True, "location": "westeurope",
        "template": {"$schema": "x", "contentVersion": "1.0.0.0", "resources": []}}}), env=env).rc == 0
    arm.fault("lro_failed", method="PUT", path_contains=f"/resourcegroups/{rg}/", code="QuotaExceeded",
              message="Operation could not be completed as it results in exceeding approved quota.")
    res = run_playbook(play(env, deploy_task(rg)), env=env)
    assert res.rc != 0
    failed = res.task("deploy template")
    assert failed["failed"] is True
    assert failed["error_code"] == "DeploymentFailed"
    assert failed["provisioning_state"] == "Failed"
    assert failed["correlation_id"]
    tree = failed["error"]
    assert tree["details"][0]["code"] == "ResourceDeploymentFailure"
    assert tree["details"][0]["details"][0]["code"] == "QuotaExceeded"
    assert "QuotaExceeded" in failed["msg"] and "Traceback" not in failed["msg"]

    res = run_playbook(play(env, deploy_task(rg)), env=env)
    assert res.rc == 0, res
    assert res.task("deploy template")["changed"] is True
    assert res.task("deploy template")["provisioning_state"] == "Succeeded"
    res = run_playbook(play(env, deploy_task(rg)), env=env)
    assert res.task("deploy template")["changed"] is False


def test_throttling_and_server_errors_are_retried(env, arm, rg):
    seq = arm.last_seq()
    arm.fault("throttle", method="POST", path_contains="/whatIf", retry_after=1, count=2)
    arm.fault("error", method="PUT", path_contains="/deployments/", status=500, count=1)
    arm.fault("error", method="GET", path_contains=f"/resourcegroups/{rg}", status=503, count=1)
    res = run_playbook(play(env, deploy_task(rg)), env=env)
    assert res.rc == 0, res
    assert res.task("deploy template")["provisioning_state"] == "Succeeded"
    statuses = [(r["method"], r["status"]) for r in arm.requests(seq)]
    assert statuses.count(("POST", 429)) == 2
    assert ("PUT", 500) in statuses and ("GET", 503) in statuses
    assert all(f["remaining"] == 0 for f in arm.faults())


def test_slow_lro_is_awaited_and_timeout_names_the_option(env, arm, rg):
    assert run_playbook(play(env, deploy_task(rg)), env=env).rc == 0
    arm.fault("slow_lro", method="PUT", path_contains=f"/resourcegroups/{rg}/", seconds=4)
    res = run_playbook(play(env, deploy_task(rg, parameters={"retentionDays": 9}, wait_timeout=60)), env=env)
    assert res.rc == 0, res
    assert res.task("deploy template")["outputs"]["retentionDays"] == 9
    arm.fault("slow_lro", method="PUT", path_contains=f"/resourcegroups/{rg}/", seconds=30)
    res = run_playbook(play(env, deploy_task(rg, parameters={"retentionDays": 10}, wait_timeout=2)), env=env)
    assert res.rc != 0
    assert "wait_timeout" in res.task("deploy template")["msg"]


@pytest.mark.parametrize("overrides, option, text", [
    ({"template_file": "/nonexistent/main.json"}, "template_file", "does not exist"),
    ({"parameters": {"retentionDays": "many"}}, "parameters", "retentionDays"),
    ({"parameters": {"unknownThing": 1}}, "parameters", "unknownThing"),
    ({"parameters": {"environment": "qa"}}, None, "environment"),
    ({"create_resource_group": False, "resource_group": "rg-does-not-exist"}, "resource_group", "does not exist"),
])
def test_bad_input_fails_naming_the_option(env, arm, rg, overrides, option, text):
    seq = arm.last_seq()
    res = run_playbook(play(env, deploy_task(rg, **overrides)), env=env)
    assert res.rc != 0
    failed = res.task("deploy template")
    assert text in failed["msg"], failed["msg"]
    if option:
        assert failed["option"] == option
        assert option in failed["msg"]
    assert puts(arm.requests(seq)) == []


def test_bicep_without_cli_fails_naming_the_option(env, tmp_path):
    # The test environment puts the Bicep CLI on PATH: this run gets a PATH without it.
    no_cli = {**env, "PATH": "/usr/bin:/bin"}
    if shutil.which("bicep", path=no_cli["PATH"]) or shutil.which("az", path=no_cli["PATH"]):
        pytest.skip("a Bicep CLI is installed in /usr/bin or /bin; the missing-CLI path cannot be exercised")
    source = tmp_path / "main.bicep"
    source.write_text("param location string = resourceGroup().location\n")
    res = run_playbook(play(env, deploy_task("rg-unused", template_file=str(source))), env=no_cli)
    failed = res.task("deploy template")
    assert failed["failed"] and failed["option"] == "template_file"
    assert "bicep_path" in failed["msg"] and "no Bicep CLI" in failed["msg"]


def test_bicep_file_compiles_with_cli(env, rg, tmp_path):
    if not (shutil.which("bicep", path=env["PATH"]) or shutil.which("az", path=env["PATH"])):
        pytest.skip("no bicep CLI (or az) on the test environment's PATH (tests/testenv/bicep_cli.py found none)")
    source = tmp_path / "main.bicep"
    source.write_text("param prefix string\noutput name string = '${prefix}-x'\n")
    task = deploy_task(rg, template_file=str(source))
    task["neo4j_azure.aks.bicep_deployment"]["parameters"] = {"prefix": "itst"}  # the only one this template takes
    res = run_playbook(play(env, task), env=env)
    assert res.rc == 0, res
    assert res.task("deploy template")["outputs"]["name"] == "itst-x"


def test_missing_credentials_and_unknown_subscription(env, rg):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    defaults = module_defaults(env)
    no_creds = {k: v for k, v in defaults.items() if k not in ("client_id", "secret")}
    res = run_playbook(localhost_play([deploy_task(rg)], module_defaults={"group/neo4j_azure.aks.azure": no_creds}),
                       env={**env, **clean})
    failed = res.task("deploy template")
    assert failed["failed"] and failed["option"] == "client_id", failed["msg"]

    wrong = {**defaults, "secret": "not-the-secret"}
    res = run_playbook(localhost_play([deploy_task(rg)], module_defaults={"group/neo4j_azure.aks.azure": wrong}),
                       env=env)
    failed = res.task("deploy template")
    assert failed["failed"] and failed["option"] == "auth_source" and "AADSTS7000215" in failed["msg"]

    other = {**defaults, "subscription_id": str(uuid.uuid4())}
    res = run_playbook(localhost_play([deploy_task(rg)], module_defaults={"group/neo4j_azure.aks.azure": other}),
                       env=env)
    failed = res.task("deploy template")
    assert failed["failed"] and failed["error_code"] == "SubscriptionNotFound"
    assert failed["option"] == "subscription_id" and "subscription_id" in failed["msg"]


def test_secrets_never_in_verbose_output(env, rg):
    res = run_playbook(play(env, deploy_task(rg)), env=env, verbosity=3, json_output=False, diff=True)
    assert res.rc == 0, res.stdout[-3000:]
    res2 = run_playbook(play(env, deploy_task(rg, parameters={"retentionDays": 8})), env=env, verbosity=3,
                        json_output=False, diff=True, check=True)
    for out in (res.stdout + res.stderr, res2.stdout + res2.stderr):
        assert PASSWORD not in out
        assert env["TESTENV_AZURE_CLIENT_SECRET"] not in out


def test_subscription_scope_creates_group_and_nested_deployment(env, arm):
    rg_name = "rg-sub-" + uuid.uuid4().hex[:8]
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"rgName": {"type": "string"}, "location": {"type": "string", "defaultValue": "westeurope"}},
        "resources": [
            {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2024-03-01",
             "name": "[parameters('rgName')]", "location": "[parameters('location')]"},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "identity",
             "resourceGroup": "[parameters('rgName')]",
             "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('rgName'))]"],
             "properties": {
                 "mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                 "parameters": {"name": {"value": "[format('id-{0}', parameters('rgName'))]"}},
                 "template": {
                     "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                     "contentVersion": "1.0.0.0",
                     "parameters": {"name": {"type": "string"}},
                     "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                                    "apiVersion": "2023-01-31", "name": "[parameters('name')]",
                                    "location": "[resourceGroup().location]"}],
                     "outputs": {"identityId": {"type": "string", "value":
                                 "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('name'))]"}},
                 }}},
        ],
        "outputs": {"identityId": {"type": "string", "value": (
            "[reference(extensionResourceId(format('/subscriptions/{0}/resourceGroups/{1}', "
            "subscription().subscriptionId, parameters('rgName')), 'Microsoft.Resources/deployments', "
            "'identity'), '2022-09-01').outputs.identityId.value]")}},
    }
    task = {"name": "deploy template", "register": "out", "neo4j_azure.aks.bicep_deployment": {
        "name": "landing", "location": "westeurope", "template": template, "parameters": {"rgName": rg_name}}}
    try:
        res = run_playbook(play(env, task), env=env, check=True, diff=True)
        assert res.rc == 0, res
        assert res.task("deploy template")["what_if"]["summary"] == {"Create": 2}
        assert not any(g["name"] == rg_name for g in arm.state()["resourceGroups"])
        res = run_playbook(play(env, task), env=env)
        assert res.rc == 0, res
        assert res.task("deploy template")["outputs"]["identityId"].endswith(f"/userAssignedIdentities/id-{rg_name}")
        res = run_playbook(play(env, task), env=env)
        assert res.task("deploy template")["changed"] is False
    finally:
        run_playbook(play(env, {"name": "cleanup", "neo4j_azure.aks.bicep_deployment": {
            "name": "identity", "resource_group": rg_name, "state": "absent", "delete_resource_group": True}}),
            env=env)


BICEP = """
param prefix string
@minValue(1)
param retentionDays int = 7
param location string = resourceGroup().location
param skuName string = 'Standard_LRS'

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: '${prefix}${take(uniqueString(resourceGroup().id), 8)}'
  location: location
  sku: { name: skuName }
  kind: 'StorageV2'
  properties: { minimumTlsVersion: 'TLS1_2', allowSharedKeyAccess: false }
}

output retentionDays int = retentionDays
output skuName string = account.sku.name
"""


def test_bicepparam_file_compiled_by_the_real_cli(env, arm, rg, tmp_path):
    if not shutil.which("bicep", path=env["PATH"]):
        pytest.skip("no bicep CLI on the test environment's PATH (tests/testenv/bicep_cli.py says where it looks)")
    (tmp_path / "main.bicep").write_text(BICEP)
    params = tmp_path / "dev.bicepparam"
    params.write_text("using 'main.bicep'\n\nparam prefix = 'bprm'\nparam retentionDays = 11\n")
    task = {"name": "deploy bicepparam", "neo4j_azure.aks.bicep_deployment": {
        "name": "bicepparam", "resource_group": rg, "create_resource_group": True, "location": "westeurope",
        "parameters_file": str(params)}, "register": "out"}
    res = run_playbook(play(env, task), env=env, check=True, diff=True)
    assert res.rc == 0, res
    assert res.task("deploy bicepparam")["changed"] is True
    res = run_playbook(play(env, task), env=env)
    assert res.rc == 0, res
    first = res.task("deploy bicepparam")
    assert first["changed"] is True and first["outputs"] == {"retentionDays": 11, "skuName": "Standard_LRS"}
    since = arm.last_seq()
    res = run_playbook(play(env, task), env=env)
    assert res.rc == 0, res
    assert res.task("deploy bicepparam")["changed"] is False
    assert puts([r for r in arm.requests(since) if rg in r["path"]]) == []

    # The option overrides the file's value; a broken file quotes the compiler.
    task["neo4j_azure.aks.bicep_deployment"]["parameters"] = {"skuName": "Standard_ZRS"}
    res = run_playbook(play(env, task), env=env)
    assert res.rc == 0 and res.task("deploy bicepparam")["outputs"] == {"retentionDays": 11,
                                                                        "skuName": "Standard_ZRS"}, res
    params.write_text("using 'main.bicep'\n\nparam prefix = 42\n")
    res = run_playbook(play(env, task), env=env)
    failed = res.task("deploy bicepparam")
    assert res.rc != 0 and failed["option"] == "parameters_file" and "BCP" in failed["msg"]
