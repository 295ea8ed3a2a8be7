"""playbooks/drift.yml on a copy of inventories/local (ARM test double, kwok, real Neo4j): after one site.yml
deploy, a clean system reports no drift; then a property changed behind the collection's back through the
ARM double's control API and a StatefulSet field changed with kubectl are each reported exactly. Every drift
run is counted: no write reaches ARM or Kubernetes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from kube_recorder import KubeRecorder
from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import REPO, kubectl, local_inventory_copy, localhost_play, run_playbook

HOST = "neo4j-local"
WORKSPACE_TYPE = "Microsoft.OperationalInsights/workspaces"


class Site:
    def __init__(self, env, inventory, rg, namespace, reports, kube, arm):
        self.env, self.inventory, self.rg, self.namespace = env, inventory, rg, namespace
        self.reports, self.kube, self.arm = reports, kube, arm

    def run(self, playbook, **kwargs):
        return run_playbook(str(REPO / "playbooks" / playbook), env={**self.env, **self.kube.env},
                            inventory=str(self.inventory), **kwargs)

    def drift(self):
        """One counted drift run: (result, JSON report, Markdown report, ARM writes, Kubernetes writes)."""
        seq, seen = self.arm.last_seq(), len(self.kube.log)
        result = self.run("drift.yml", check=True, diff=True)
        arm_writes = self.arm.group_writes(self.rg, seq)
        # kubernetes.core.k8s in check mode asks the apiserver for a server-side dry run (?dryRun=All): the
        # apiserver validates and persists nothing. Every other write counts.
        kube_writes = [entry for entry in self.kube.log[seen:] if entry[0] in {"POST", "PUT", "PATCH", "DELETE"}
                       and "dryRun=All" not in entry[1]]
        report = json.loads((self.reports / f"{HOST}.json").read_text())
        return result, report, (self.reports / f"{HOST}.md").read_text(), arm_writes, kube_writes

    def workspace(self) -> dict:
        marker = f"/resourceGroups/{self.rg}/providers/{WORKSPACE_TYPE}/".lower()
        return next(r for r in self.arm.state()["resources"] if marker in r["id"].lower())


@pytest.fixture(scope="module")
def site(testenv_for, tmp_path_factory):
    env = testenv_for("kube", "arm", "neo4j", "azurite")
    root = tmp_path_factory.mktemp("drift")
    suffix = uuid.uuid4().hex[:8]
    rg, namespace, reports = f"rg-drift-{suffix}", f"drift-{suffix}", root / "reports"
    kubeconfig = root / "aks.kubeconfig"
    inventory = local_inventory_copy(root, "local", {
        "infra_resource_group": rg, "infra_kubeconfig_path": str(kubeconfig), "neo4j_namespace": namespace,
        "validate_namespace": namespace, "backup_namespace": namespace, "drift_report_dir": str(reports),
        # Drift is about what the collection wrote, not about Neo4j running: the simulated nodes suffice.
        "local_real_node": False})
    arm = ArmDoubleClient(env)
    kube = KubeRecorder(env["KUBECONFIG"], kubeconfig)
    with kube:
        try:
            deployed = Site(env, inventory, rg, namespace, reports, kube, arm)
            first = deployed.run("site.yml")
            assert first.rc == 0, first
            kube.write_kubeconfig()  # site.yml wrote the cluster's kubeconfig: the recording proxy's goes back
            yield deployed
        finally:
            kubectl(env, "delete", "namespace", namespace, "--ignore-not-found", "--wait=false", check=False)
            run_playbook(localhost_play([{"name": "remove the group", "neo4j_azure.aks.bicep_deployment": {
                "name": "neo4j-infra", "resource_group": rg, "state": "absent", "delete_resource_group": True}}],
                module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)}), env=env)


def test_drift_runs_only_in_check_mode(site):
    result = site.run("drift.yml", diff=True)
    assert result.rc != 0
    assert "run it with --check --diff" in result.failure()
    assert not (site.reports / f"{HOST}.json").exists()


def test_clean_system_reports_no_drift_and_writes_nothing(site):
    result, report, markdown, arm_writes, kube_writes = site.drift()
    assert result.rc == 0, result
    assert report["drift"] is False and report["entries"] == [], report
    assert report["environment"] == "local"
    assert "**No drift**" in markdown
    assert arm_writes == [] and kube_writes == [], (arm_writes, kube_writes)


def test_changes_behind_the_collections_back_are_reported_exactly(site):
    workspace = site.workspace()
    retention = workspace["properties"]["retentionInDays"]
    site.arm.change_resource(workspace["id"], {"retentionInDays": retention + 15})
    kubectl(site.env, "-n", site.namespace, "patch", "statefulset", "neo4j", "--type", "merge",
            "-p", json.dumps({"spec": {"template": {"spec": {"terminationGracePeriodSeconds": 120}}}}))

    result, report, markdown, arm_writes, kube_writes = site.drift()
    assert result.rc != 0
    assert "Drift found in 2 resource(s) (1 Azure, 1 Kubernetes, 0 health)" in result.failure(), result.failure()
    assert report["drift"] is True and report["summary"] == {"arm": 1, "helm": 1, "validate": 0}, report
    assert report["entries"] == [
        {"source": "arm", "resource": workspace["id"], "change": "Modify", "properties": [
            {"path": "properties.retentionInDays", "live": retention + 15, "desired": retention}]},
        {"source": "helm", "resource": f"StatefulSet {site.namespace}/neo4j", "change": "Modify", "properties": [
            {"path": "spec.template.spec.terminationGracePeriodSeconds", "live": 120, "desired": 300}]},
    ], json.dumps(report, indent=1)
    assert "| `properties.retentionInDays` | `%d` | `%d` |" % (retention + 15, retention) in markdown
    assert "| `spec.template.spec.terminationGracePeriodSeconds` | `120` | `300` |" in markdown
    assert arm_writes == [] and kube_writes == [], (arm_writes, kube_writes)
    # The drift run changed nothing: the drifted values are still there.
    assert site.workspace()["properties"]["retentionInDays"] == retention + 15
    sts = json.loads(kubectl(site.env, "-n", site.namespace, "get", "statefulset", "neo4j", "-o", "json").stdout)
    assert sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 120
    Path(site.reports / "sample.md").write_text(markdown)
