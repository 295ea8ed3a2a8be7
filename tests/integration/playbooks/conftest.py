"""A production-like copy of inventories/local for the playbook tests of the guards and of the read-only path.

`prodlike` (one per module): inventories/local copied to a tmp dir with neo4j_aks_is_production true, its own
resource group on the ARM test double (converged with playbooks/infra.yml, twice, the second unchanged) and one
infra value drifted afterwards, so a run that deployed infra would PUT. Its kubeconfig is a recording proxy in
front of the kwok apiserver (tests/kube_recorder.py): every Kubernetes request of a run is logged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from kube_recorder import KubeRecorder
from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import REPO, local_inventory_copy, localhost_play, run_playbook, write_group_vars

HOST = "neo4j-local"


@dataclass
class ProdLike:
    env: dict
    inventory: Path
    resource_group: str
    kubeconfig: Path
    kube: KubeRecorder
    arm: ArmDoubleClient

    def run(self, playbook: str, **kwargs):
        return run_playbook(str(REPO / "playbooks" / playbook), env={**self.env, **self.kube.env},
                            inventory=str(self.inventory), **kwargs)

    def arm_requests(self, since: int) -> list:
        """The ARM requests since `since` that name this inventory's resource group (others share the double)."""
        return self.arm.group_requests(self.resource_group, since)

    def arm_writes(self, since: int) -> list:
        return self.arm.group_writes(self.resource_group, since)

    def deployment(self) -> dict:
        name = f"/resourceGroups/{self.resource_group}/"
        return next(d for d in self.arm.state()["deployments"] if name in d["id"] and d["name"] == "neo4j-infra")


@pytest.fixture(scope="module")
def prodlike(testenv_for, tmp_path_factory):
    env = testenv_for("kube", "arm", "neo4j", "azurite")
    root = tmp_path_factory.mktemp("prodlike")
    rg = f"rg-guard-{uuid.uuid4().hex[:8]}"
    kubeconfig = root / "aks.kubeconfig"
    # The guards and the read-only path are about ARM and Kubernetes requests: Neo4j stays on the simulated nodes.
    inventory = local_inventory_copy(root, "prodlike", {"neo4j_aks_is_production": True, "infra_resource_group": rg,
                                                        "infra_kubeconfig_path": str(kubeconfig),
                                                        "local_real_node": False})
    arm = ArmDoubleClient(env)
    kube = KubeRecorder(env["KUBECONFIG"], kubeconfig)
    with kube:
        try:
            site = ProdLike(env, inventory, rg, kubeconfig, kube, arm)
            first = site.run("infra.yml")
            assert first.rc == 0, first
            again = site.run("infra.yml")
            assert again.rc == 0, again
            assert again.changed(HOST) == 0, again.changed_tasks(HOST)
            # infra.yml wrote the cluster's kubeconfig; put the recording proxy's in its place.
            kube.write_kubeconfig()
            write_group_vars(inventory, "zz_prodlike_drift.yml", {"infra_log_retention_days": 45})
            drifted = site.run("infra.yml", check=True)
            assert drifted.rc == 0, drifted
            assert drifted.task("Deploy the resource group and the infrastructure template", HOST)["changed"], \
                "the drifted value would not be deployed: the guard tests would prove nothing"
            yield site
        finally:
            run_playbook(localhost_play([{"name": "remove the group", "neo4j_azure.aks.bicep_deployment": {
                "name": "neo4j-infra", "resource_group": rg, "state": "absent", "delete_resource_group": True}}],
                module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)}), env=env)
