"""roles/infra templates, checked with the real Bicep CLI (tests/testenv/bicep_cli.py finds it) and Checkov.

Proves: every .bicep and .bicepparam file compiles and lints with no diagnostic under the strict
bicepconfig.json (what-if-short-circuiting an error, API-version age a warning, ...), and every suppression gives
its reason on the line; no module of main.bicep takes a runtime value (reference()/outputs) as a parameter, so
what-if evaluates every module; the committed main.json is a fresh compile; the per-environment parameters and
.bicepparam files are what the infra role composes now for inventories/dev, staging and prod, and the committed
snapshots validate (and a changed parameter makes validation fail); each production option renders its
resources when on and none when off; only the Neo4j identity may read a secret (Key Vault Secrets User on the
password secret, when the pods mount it), federated with the Neo4j ServiceAccount the parameters name;
Checkov finds zero failed checks, each skip with its reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from testenv.bicep_cli import VERSION, bicep_env, find_bicep
from testenv.checkov_bicep import erase_types
from testenv_client import start_playbook

REPO = Path(__file__).resolve().parents[3]
INFRA_FILES = REPO / "roles" / "infra" / "files"
BICEP_DIR = INFRA_FILES / "bicep"
ENV_DIR = INFRA_FILES / "environments"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
BICEP_FILES = sorted(BICEP_DIR.rglob("*.bicep"))
ENVIRONMENTS = ("dev", "staging", "prod")
SNAPSHOT_SCOPE = ["--subscription-id", "00000000-0000-0000-0000-000000000000",
                  "--tenant-id", "00000000-0000-0000-0000-000000000000", "--location", "westeurope",
                  "--deployment-name", "neo4j-infra"]


@pytest.fixture(scope="module", name="bicep")
def bicep_fixture():
    path = find_bicep()
    if path is None:
        pytest.skip("no Bicep CLI: set BICEP_BIN or keep ../shared/tools/bicep/bicep beside the checkout")
    return path


def run_bicep(bicep: Path, *args, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(bicep), *map(str, args)], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **bicep_env()}, cwd=cwd)
    if check:
        assert proc.returncode == 0, f"bicep {' '.join(map(str, args))}: {proc.stderr or proc.stdout}"
    return proc


def snapshot(bicep: Path, param_file: Path, rg: str, mode: str = "overwrite", check: bool = True):
    return run_bicep(bicep, "snapshot", param_file, "--mode", mode, "--resource-group", rg, *SNAPSHOT_SCOPE,
                     check=check)


def test_the_cli_is_the_pinned_version(bicep):
    assert f"Bicep CLI version {VERSION} " in run_bicep(bicep, "--version").stdout
    ee = (REPO / "extensions" / "ee" / "execution-environment.yml").read_text()
    assert f"BICEP_VERSION=v{VERSION}" in ee, "the execution environment pins another Bicep version"


def test_bicepconfig_is_strict():
    rules = json.loads((REPO / "bicepconfig.json").read_text())["analyzers"]["core"]["rules"]
    assert rules["what-if-short-circuiting"]["level"] == "error"
    assert rules["use-recent-api-versions"]["level"] in ("warning", "error")
    for rule in ("use-user-defined-types", "secure-secrets-in-params", "outputs-should-not-contain-secrets",
                 "no-hardcoded-env-urls", "use-secure-value-for-secure-inputs"):
        assert rules[rule]["level"] == "error", rule


# One CLI start per pattern (each start costs seconds): lint compiles every file it names and prints every
# diagnostic, with the file and line, so one call per kind of file says as much as one per file.
@pytest.mark.parametrize("pattern", ["**/*.bicep", "environments/*.bicepparam"])
def test_compiles_and_lints_without_diagnostic(bicep, pattern):
    assert sorted(INFRA_FILES.glob(pattern)), f"no file matches {pattern}"
    lint = run_bicep(bicep, "lint", "--pattern", pattern, check=False, cwd=INFRA_FILES)
    assert lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(), lint.stdout + lint.stderr


def test_every_suppression_gives_its_reason():
    for path in BICEP_FILES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "#disable-next-line" in line or "#disable-diagnostics" in line:
                assert re.search(r"#disable-\S+ [\w -]+ // \S.{10,}", line), f"{path.name}:{number}: no reason"


def test_committed_json_is_a_fresh_compile(bicep, tmp_path):
    out = tmp_path / "main.json"
    build = run_bicep(bicep, "build", BICEP_DIR / "main.bicep", "--outfile", out)
    assert not (build.stdout + build.stderr).strip(), build.stdout + build.stderr
    assert (BICEP_DIR / "main.json").read_text() == out.read_text(), \
        "roles/infra/files/bicep/main.json is stale: run `make bicep-build`"


def test_no_module_takes_a_runtime_value():
    """ARM what-if skips a module whose parameters come from reference() or another deployment's outputs."""
    compiled = json.loads((BICEP_DIR / "main.json").read_text())
    modules = {name: res for name, res in compiled["resources"].items()
               if res["type"] == "Microsoft.Resources/deployments"}
    assert set(modules) == {"network", "monitoring", "aks", "prometheus", "alerts", "grafana", "keyVault", "storage",
                            "privateLink", "identity"}
    for name, module in modules.items():
        given = json.dumps(module["properties"]["parameters"])
        assert "reference(" not in given and ".outputs" not in given, f"module {name} takes {given}"
        assert "reference(" not in json.dumps({k: module.get(k) for k in ("name", "condition", "scope")}), name


def test_committed_parameters_are_what_the_role_composes():
    """The role's own composition (roles/infra/tasks/parameters.yml), run in check mode on each inventory (the
    three runs side by side; one run cannot hold them: their group_vars name the same group): nothing to write
    means the committed <env>.parameters.json and .bicepparam are current."""
    running = {name: start_playbook(str(ENV_DIR / "compose.yml"), inventory=str(REPO / "inventories" / name),
                                    check=True, diff=True) for name in ENVIRONMENTS}
    for name, run in running.items():
        result = run.wait()
        assert result.rc == 0, result
        host = f"neo4j-{name}"
        for task in ("Write the composed parameters", "Write the parameters file that loads them"):
            assert not result.task(task, host=host)["changed"], \
                f"{name}: {task.lower()} would change: run `make bicep-snapshots`"


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_committed_snapshot_validates(bicep, name):
    proc = snapshot(bicep, ENV_DIR / f"{name}.bicepparam", f"neo4j-{name}-rg", mode="validate", check=False)
    assert proc.returncode == 0, f"{name}: run `make bicep-snapshots`\n{proc.stdout}{proc.stderr}"


def test_a_changed_parameter_fails_validation(bicep, tmp_path):
    shutil.copytree(BICEP_DIR, tmp_path / "bicep")
    shutil.copytree(ENV_DIR, tmp_path / "environments")
    params = tmp_path / "environments" / "dev.parameters.json"
    data = json.loads(params.read_text())
    data["neo4jNodeMaxCount"] += 1
    params.write_text(json.dumps(data))
    proc = snapshot(bicep, tmp_path / "environments" / "dev.bicepparam", "neo4j-dev-rg", mode="validate",
                    check=False)
    assert proc.returncode != 0 and "maxCount" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def predicted(bicep: Path, tmp_path: Path, base: str, **overrides) -> list:
    """Resources `bicep snapshot` predicts for an inventory's composed parameters with some overridden."""
    if not (tmp_path / "bicep").exists():
        shutil.copytree(BICEP_DIR, tmp_path / "bicep")  # a .bicepparam names its template by a relative path
    work = tmp_path / f"{base}-{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    data = {**json.loads((ENV_DIR / f"{base}.parameters.json").read_text()), **overrides}
    (work / "parameters.json").write_text(json.dumps(data))
    lines = ["using '../bicep/main.bicep'", "", "var composed = loadJsonContent('parameters.json')", ""]
    lines += [f"param {key} = composed.{key}" for key in sorted(data)]
    (work / "main.bicepparam").write_text("\n".join(lines) + "\n")
    snapshot(bicep, work / "main.bicepparam", f"neo4j-{base}-rg")
    return json.loads((work / "main.snapshot.json").read_text())["predictedResources"]


def of_type(resources: list, rtype: str) -> list:
    return [r for r in resources if r["type"].lower() == rtype.lower()]


def cluster(resources: list) -> dict:
    (found,) = of_type(resources, "Microsoft.ContainerService/managedClusters")
    return found["properties"]


def node_subnet(resources: list) -> dict:
    (vnet,) = of_type(resources, "Microsoft.Network/virtualNetworks")
    return next(s for s in vnet["properties"]["subnets"] if s["name"] == "aks-nodes")["properties"]


OPTION_TYPES = ("Microsoft.ContainerService/managedClusters/maintenanceConfigurations",
                "Microsoft.Network/natGateways", "Microsoft.Network/publicIPAddresses", "Microsoft.Network/routeTables",
                "Microsoft.Network/privateEndpoints", "Microsoft.Network/privateDnsZones",
                "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
                "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")


def test_options_off_render_nothing():
    """dev keeps every production option at its default: none of their resources or properties."""
    resources = json.loads((ENV_DIR / "dev.snapshot.json").read_text())["predictedResources"]
    for rtype in OPTION_TYPES:
        assert not of_type(resources, rtype), rtype
    props = cluster(resources)
    assert "defender" not in props["securityProfile"]
    assert props["securityProfile"]["imageCleaner"] == {"enabled": True, "intervalHours": 168}
    assert props["networkProfile"]["outboundType"] == "loadBalancer"
    assert "natGateway" not in node_subnet(resources) and "routeTable" not in node_subnet(resources)
    (vault,) = of_type(resources, "Microsoft.KeyVault/vaults")
    assert vault["properties"]["publicNetworkAccess"] == "Enabled"


def test_prod_renders_maintenance_defender_nat_private_endpoints_and_image_cleaner():
    resources = json.loads((ENV_DIR / "prod.snapshot.json").read_text())["predictedResources"]
    windows = {r["name"].split("/")[-1]: r["properties"]["maintenanceWindow"]
               for r in of_type(resources, OPTION_TYPES[0])}
    assert set(windows) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    assert windows["aksManagedAutoUpgradeSchedule"]["schedule"] == {"weekly": {"dayOfWeek": "Sunday", "intervalWeeks": 1}}
    assert windows["aksManagedNodeOSUpgradeSchedule"]["durationHours"] == 4
    props = cluster(resources)
    assert props["securityProfile"]["defender"]["securityMonitoring"] == {"enabled": True}
    assert props["securityProfile"]["defender"]["logAnalyticsWorkspaceResourceId"].endswith("/workspaces/neo4j-prod-logs")
    assert props["securityProfile"]["imageCleaner"]["enabled"] is True
    assert props["networkProfile"]["outboundType"] == "userAssignedNATGateway"
    (nat,) = of_type(resources, "Microsoft.Network/natGateways")
    assert len(of_type(resources, "Microsoft.Network/publicIPAddresses")) == 2
    assert node_subnet(resources)["natGateway"]["id"].endswith(f"/natGateways/{nat['name']}")
    assert not of_type(resources, "Microsoft.Network/routeTables")
    endpoints = of_type(resources, "Microsoft.Network/privateEndpoints")
    groups = sorted(e["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"][0] for e in endpoints)
    assert groups == ["blob", "vault"]
    assert all(e["properties"]["subnet"]["id"].endswith("/subnets/private-endpoints") for e in endpoints)
    # bicep snapshot leaves environment() unevaluated; ARM makes these privatelink.vaultcore.azure.net and
    # privatelink.blob.core.windows.net in the public cloud.
    zones = sorted(z["name"] for z in of_type(resources, "Microsoft.Network/privateDnsZones"))
    assert len(zones) == 2 and "privatelink.blob" in zones[0] and "privatelink.vaultcore" in zones[1], zones
    links = of_type(resources, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
    assert len(links) == 2 and all(link["properties"]["virtualNetwork"]["id"].endswith("/virtualNetworks/neo4j-prod-vnet")
                                   for link in links)
    assert len(of_type(resources, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")) == 2
    (vault,) = of_type(resources, "Microsoft.KeyVault/vaults")
    assert vault["properties"]["publicNetworkAccess"] == "Disabled"


MONITORING_TYPES = ("Microsoft.Monitor/accounts", "Microsoft.Insights/dataCollectionEndpoints",
                    "Microsoft.AlertsManagement/prometheusRuleGroups", "Microsoft.Insights/actionGroups")


def test_monitoring_per_inventory():
    """dev: managed Prometheus and the Kubernetes/backup alerts, a 1 GB log cap, no control-plane logs, no Grafana;
    prod: no cap, control-plane logs, Grafana reading the workspace, the Enterprise rules, e-mail and webhook."""
    dev = json.loads((ENV_DIR / "dev.snapshot.json").read_text())["predictedResources"]
    prod = json.loads((ENV_DIR / "prod.snapshot.json").read_text())["predictedResources"]
    for rtype in MONITORING_TYPES:
        assert of_type(dev, rtype) and of_type(prod, rtype), rtype
    for resources in (dev, prod):
        assert cluster(resources)["azureMonitorProfile"]["metrics"]["enabled"] is True
        associations = {r["name"] for r in of_type(resources, "Microsoft.Insights/dataCollectionRuleAssociations")}
        assert "configurationAccessEndpoint" in associations and any(a.startswith("MSProm-") for a in associations)
    (dev_logs,) = of_type(dev, "Microsoft.OperationalInsights/workspaces")
    assert dev_logs["properties"]["workspaceCapping"] == {"dailyQuotaGb": 1}
    (prod_logs,) = of_type(prod, "Microsoft.OperationalInsights/workspaces")
    assert prod_logs["properties"]["workspaceCapping"] == {"dailyQuotaGb": -1}
    assert not of_type(dev, "Microsoft.Insights/diagnosticSettings")
    (settings,) = of_type(prod, "Microsoft.Insights/diagnosticSettings")
    assert [log["category"] for log in settings["properties"]["logs"]] == [
        "kube-audit-admin", "guard", "kube-apiserver", "cluster-autoscaler"]
    assert settings["properties"]["workspaceId"].endswith("/workspaces/neo4j-prod-logs")
    assert sorted(r["name"] for r in of_type(dev, MONITORING_TYPES[2])) == [
        "neo4j-dev-neo4j-backup", "neo4j-dev-neo4j-kubernetes"]
    assert sorted(r["name"] for r in of_type(prod, MONITORING_TYPES[2])) == [
        "neo4j-prod-neo4j-backup", "neo4j-prod-neo4j-enterprise", "neo4j-prod-neo4j-kubernetes"]
    (group,) = of_type(prod, "Microsoft.Insights/actionGroups")
    assert [r["emailAddress"] for r in group["properties"]["emailReceivers"]] == ["neo4j-oncall@example.com"]
    assert [r["serviceUri"] for r in group["properties"]["webhookReceivers"]] == [
        "https://alerts.example.com/azure-monitor"]
    assert not of_type(dev, "Microsoft.Dashboard/grafana")
    (grafana,) = of_type(prod, "Microsoft.Dashboard/grafana")
    (integration,) = grafana["properties"]["grafanaIntegrations"]["azureMonitorWorkspaceIntegrations"]
    assert integration["azureMonitorWorkspaceResourceId"].endswith("/accounts/neo4j-prod-prometheus")
    readers = [r for r in of_type(prod, "Microsoft.Authorization/roleAssignments")
               if r["properties"]["roleDefinitionId"].endswith("/b0d8363b-8ddd-447f-8f36-a7e0d8c8ad14")]
    assert len(readers) == 1 and readers[0]["id"].startswith(integration["azureMonitorWorkspaceResourceId"])


def test_monitoring_off_renders_nothing_and_grafana_admins_are_the_groups(bicep, tmp_path):
    off = predicted(bicep, tmp_path, "dev", managedPrometheusEnabled=False, alertsEnabled=False)
    for rtype in (*MONITORING_TYPES, "Microsoft.Dashboard/grafana"):
        assert not of_type(off, rtype), rtype
    assert cluster(off)["azureMonitorProfile"]["metrics"]["enabled"] is False
    group = "5b0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"
    grafana = predicted(bicep, tmp_path, "dev", grafanaEnabled=True, grafanaAdminGroupObjectIds=[group])
    admins = [r for r in of_type(grafana, "Microsoft.Authorization/roleAssignments")
              if r["properties"]["roleDefinitionId"].endswith("/22926164-76b3-42b3-bc55-97df8dab3e41")]
    assert [(a["properties"]["principalId"], a["properties"]["principalType"]) for a in admins] == [(group, "Group")]
    assert "/providers/Microsoft.Dashboard/grafana/" in admins[0]["id"]


def test_user_defined_routing_and_image_cleaner_off_render(bicep, tmp_path):
    resources = predicted(bicep, tmp_path, "dev", outboundType="userDefinedRouting", egressNextHopIp="10.42.8.4",
                          imageCleanerEnabled=False)
    (table,) = of_type(resources, "Microsoft.Network/routeTables")
    assert table["properties"]["routes"][0]["properties"] == {
        "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.42.8.4"}
    assert node_subnet(resources)["routeTable"]["id"].endswith(f"/routeTables/{table['name']}")
    assert not of_type(resources, "Microsoft.Network/natGateways")
    scopes = [r for r in of_type(resources, "Microsoft.Authorization/roleAssignments")
              if "/routeTables/" in r.get("scope", r["id"])]
    assert len(scopes) == 1, "the control-plane identity needs Network Contributor on the route table"
    props = cluster(resources)
    assert props["networkProfile"]["outboundType"] == "userDefinedRouting"
    assert props["securityProfile"]["imageCleaner"]["enabled"] is False


# Built-in roles that read secret values of a vault in RBAC mode (data action .../secrets/getSecret/action), or
# that let their holder grant itself such a role.
SECRET_READING_ROLES = {
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "a4417e6f-fecd-4de8-b567-7b0420556985": "Key Vault Certificates Officer",
    "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba": "Key Vault Certificate User",
    "8b54135c-b56d-4d72-a534-26097cfdc8d8": "Key Vault Data Access Administrator",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}


def role_of(assignment: dict) -> str:
    return assignment["properties"]["roleDefinitionId"].rsplit("/", 1)[-1]


def assignments_of(resources: list, identity: str) -> list:
    """Role assignments whose principal is the named user-assigned identity (bicep snapshot leaves principalId a
    reference() to it)."""
    return [r for r in of_type(resources, "Microsoft.Authorization/roleAssignments")
            if f"/userAssignedIdentities/{identity}'" in r["properties"]["principalId"]]


def secret_readers(resources: list) -> list:
    return [r for r in of_type(resources, "Microsoft.Authorization/roleAssignments")
            if role_of(r) in SECRET_READING_ROLES]


def assert_only_neo4j_reads_the_password(resources: list, base: str, secret: str, namespace: str, account: str):
    (vault,) = of_type(resources, "Microsoft.KeyVault/vaults")
    (reader,) = secret_readers(resources)
    assert SECRET_READING_ROLES[role_of(reader)] == "Key Vault Secrets User"
    # Scoped to the secret itself (an extension resource of vaults/<vault>/secrets/<secret>), not to the vault.
    assert reader["id"].startswith(f"{vault['id']}/secrets/{secret}/providers/Microsoft.Authorization/"), reader["id"]
    assert reader in assignments_of(resources, f"{base}-neo4j"), reader["properties"]["principalId"]
    (federation,) = [f for f in of_type(resources, "Microsoft.ManagedIdentity/userAssignedIdentities/"
                                                   "federatedIdentityCredentials")
                     if f["name"].startswith(f"{base}-neo4j/")]
    assert federation["properties"]["subject"] == f"system:serviceaccount:{namespace}:{account}"
    assert federation["properties"]["audiences"] == ["api://AzureADTokenExchange"]


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_only_the_neo4j_identity_may_read_the_password(name):
    """Least privilege, per inventory: no identity of the template has a secret-reading role, except the Neo4j
    identity when the pods mount the password (neo4j_keyvault_csi, prod): Key Vault Secrets User on the password
    secret alone. The backup identity writes blobs and nothing else; the secrets provider add-on and the kubelet
    read nothing (the CSI driver mounts with the pod's workload identity)."""
    params = json.loads((ENV_DIR / f"{name}.parameters.json").read_text())
    resources = json.loads((ENV_DIR / f"{name}.snapshot.json").read_text())["predictedResources"]
    base = f"{params['namePrefix']}-{params['environment']}"
    assert params["neo4jPasswordReaderEnabled"] is (name == "prod"), "prod mounts the password, dev/staging do not"
    if params["neo4jPasswordReaderEnabled"]:
        assert_only_neo4j_reads_the_password(resources, base, params["neo4jPasswordSecretName"],
                                             params["neo4jNamespace"], params["neo4jServiceAccountName"])
    else:
        assert not secret_readers(resources), [r["id"] for r in secret_readers(resources)]
    (backup,) = assignments_of(resources, f"{base}-backup")
    assert role_of(backup) == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # Storage Blob Data Contributor
    (account,) = of_type(resources, "Microsoft.Storage/storageAccounts")
    assert backup["id"].startswith(f"{account['id']}/providers/Microsoft.Authorization/"), backup["id"]
    assert "azureKeyvaultSecretsProvider" not in json.dumps(of_type(resources, "Microsoft.Authorization/roleAssignments"))


def test_the_neo4j_identity_follows_the_release_parameters(bicep, tmp_path):
    """Another namespace, ServiceAccount and secret name move the federation and the role assignment's scope."""
    resources = predicted(bicep, tmp_path, "dev", neo4jPasswordReaderEnabled=True, neo4jNamespace="graph",
                          neo4jServiceAccountName="graph-db", neo4jPasswordSecretName="graph-db-password")
    assert_only_neo4j_reads_the_password(resources, "neo4j-dev", "graph-db-password", "graph", "graph-db")


def test_checkov_finds_no_failed_check(tmp_path):
    if not CHECKOV.exists():
        pytest.skip(f"Checkov is not installed at {CHECKOV} (make setup installs it)")
    scan = tmp_path / "bicep"
    for path in BICEP_FILES:
        target = scan / path.relative_to(BICEP_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(erase_types(path.read_text()))
    proc = subprocess.run([str(CHECKOV), "-d", str(scan), "--framework", "bicep", "--skip-download",
                           "--output", "json"], capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(proc.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]
    assert summary["parsing_errors"] == 0, report["results"].get("parsing_errors")
    assert summary["failed"] == 0 and not failed, failed
    assert summary["passed"] > 0 and summary["skipped"] == len(report["results"]["skipped_checks"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    for check in report["results"]["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.strip()) > 20, f"{check['check_id']} is skipped without a reason"


def test_every_skip_comment_is_inside_a_resource_and_explained():
    for path in BICEP_FILES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "checkov:skip" in line:
                assert re.match(r"^\s+//checkov:skip=CKV2?_AZURE_\d+: \S.{20,}", line), f"{path.name}:{number}"


def test_type_erasure_keeps_lines_and_resources():
    for path in BICEP_FILES:
        text = path.read_text()
        erased = erase_types(text)
        assert len(erased.splitlines()) == len(text.splitlines()), path.name
        assert re.findall(r"^resource .*$", erased, re.M) == re.findall(r"^resource .*$", text, re.M), path.name
        assert not re.search(r"^\s*param \w+ (?!string|int|bool|object|array)", erased, re.M), path.name
