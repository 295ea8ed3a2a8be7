"""playbooks/backup.yml on the production-like inventory (conftest.py: one infra value drifted): the infra outputs
are read with GETs only (no what-if, no PUT), the backup objects follow them (workload identity), the install is
unchanged on its second run, and an on-demand backup runs through Kubernetes in its own namespace only."""

from __future__ import annotations

import json
import uuid

import pytest

from testenv_client import NEO4J_STATEFULSET, kubectl

HOST = "neo4j-local"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture()
def namespace(prodlike):
    name = f"pb-backup-{uuid.uuid4().hex[:6]}"
    kubectl(prodlike.env, "create", "namespace", name)
    kubectl(prodlike.env, "apply", "-f", "-", input_text=NEO4J_STATEFULSET % {"ns": name})
    yield name
    kubectl(prodlike.env, "delete", "namespace", name, "--wait=false", check=False)


def test_backup_reads_the_infra_outputs_without_deploying(prodlike, namespace):
    extra = {"backup_namespace": namespace, "backup_container": f"pb-backup-{uuid.uuid4().hex[:10]}",
             "backup_job_wait_timeout": 180}
    seq, kube_seen = prodlike.arm.last_seq(), len(prodlike.kube.log)

    first = prodlike.run("backup.yml", extra_vars={**extra, "backup_run_now": False})
    assert first.rc == 0, first
    assert first.changed(HOST) > 0
    second = prodlike.run("backup.yml", extra_vars={**extra, "backup_run_now": False})
    assert second.rc == 0, second
    assert second.changed(HOST) == 0, second.changed_tasks(HOST)
    now = prodlike.run("backup.yml", extra_vars=extra)
    assert now.rc == 0, now
    assert now.task("Stop Neo4j for the offline dump", HOST)["changed"]

    requests = prodlike.arm_requests(seq)
    assert len([r for r in requests if r["method"] == "GET"]) >= 3, requests  # the deployment, once per run
    assert {r["method"] for r in requests} == {"GET"}, requests
    assert prodlike.arm_writes(seq) == []
    for run in (first, second, now):
        assert not [name for name, _result in run.tasks(HOST) if "Deploy the resource group" in name]

    writes = [w for w in prodlike.kube.log[kube_seen:] if w[0] in WRITES]
    assert writes and all(f"/namespaces/{namespace}/" in path for _method, path in writes), writes
    outputs = now.task("Publish the deployment outputs", HOST)["ansible_facts"]["infra_outputs"]
    sa = json.loads(kubectl(prodlike.env, "get", "serviceaccount", "neo4j-backup", "-n", namespace, "-o",
                            "json").stdout)
    assert outputs["backupIdentityClientId"]
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == outputs["backupIdentityClientId"]
    assert json.loads(kubectl(prodlike.env, "get", "statefulset", "neo4j", "-n", namespace, "-o",
                              "json").stdout)["spec"]["replicas"] == 1
