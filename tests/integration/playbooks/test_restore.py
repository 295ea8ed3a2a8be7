"""playbooks/restore.yml on a production-like inventory (a copy of inventories/local with neo4j_aks_is_production
true and one infra value drifted, see conftest.py).

Refused for lack of (or a wrong) restore_confirm, the run sends no request at all to the infra resource group on
the ARM test double and none to Kubernetes, and leaves the kubeconfig as it was. Confirmed, it reads the infra
outputs with one GET, never deploys the drifted template, and restores through Kubernetes in its own namespace.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import backup_name
from testenv_client import NEO4J_STATEFULSET, kubectl

HOST = "neo4j-local"


def test_refused_production_restore_sends_no_request(prodlike):
    kubeconfig_before = prodlike.kubeconfig.read_bytes()
    deployment_before = prodlike.deployment()
    for confirm in (None, "prod"):  # twice: no confirmation, then the wrong environment's name
        seq, kube_seen = prodlike.arm.last_seq(), len(prodlike.kube.log)
        result = prodlike.run("restore.yml", extra_vars={"restore_confirm": confirm} if confirm else None)
        assert result.rc != 0, result
        assert "restore_confirm=local" in result.task("Require the confirmation", HOST)["msg"]
        assert result.changed(HOST) == 0, result.changed_tasks(HOST)
        assert prodlike.arm_requests(seq) == [], "a refused restore talked to the infra resource group"
        assert prodlike.arm_writes(seq) == []
        assert prodlike.kube.log[kube_seen:] == [], "a refused restore talked to Kubernetes"
    assert prodlike.kubeconfig.read_bytes() == kubeconfig_before
    assert prodlike.deployment() == deployment_before


@pytest.fixture()
def restorable(prodlike):
    """A namespace with a Neo4j StatefulSet, and an Azurite container holding one complete backup of `local`."""
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel

    env = prodlike.env
    namespace = f"pb-restore-{uuid.uuid4().hex[:6]}"
    kubectl(env, "create", "namespace", namespace)
    kubectl(env, "apply", "-f", "-", input_text=NEO4J_STATEFULSET % {"ns": namespace})
    container = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"]).create_container(
        f"pb-restore-{uuid.uuid4().hex[:10]}")
    blob = backup_name("neo4j-backups", "local", "neo4j", datetime.now(timezone.utc) - timedelta(hours=1))
    container.upload_blob(blob, b"dump", metadata={"backup_complete": "true"})
    yield namespace, container.container_name, blob
    container.delete_container()
    kubectl(env, "delete", "namespace", namespace, "--wait=false", check=False)


def test_confirmed_restore_reads_the_infra_outputs_without_deploying(prodlike, restorable):
    namespace, container, blob = restorable
    seq, kube_seen = prodlike.arm.last_seq(), len(prodlike.kube.log)
    result = prodlike.run("restore.yml", extra_vars={
        "restore_confirm": "local", "restore_namespace": namespace, "restore_container": container,
        "restore_validate": False, "restore_job_wait_timeout": 180})
    assert result.rc == 0, result

    # Azure: the deployment read, nothing else, although an infra value drifted.
    requests = prodlike.arm_requests(seq)
    assert requests and {r["method"] for r in requests} == {"GET"}, requests
    assert prodlike.arm_writes(seq) == []
    assert not [name for name, _result in result.tasks(HOST) if "Deploy the resource group" in name]
    assert result.task("Read the infra deployment", HOST)["changed"] is False

    # Kubernetes: the restore's writes (the recording proxy sees them), all in its own namespace.
    writes = [w for w in prodlike.kube.log[kube_seen:] if w[0] in ("POST", "PUT", "PATCH", "DELETE")]
    assert writes, "the restore wrote nothing through the recording proxy: the count above proves nothing"
    assert all(f"/namespaces/{namespace}/" in path for _method, path in writes), writes
    job_name = result.task("Name the restore Job", HOST)["ansible_facts"]["restore_job_name"]
    job = json.loads(kubectl(prodlike.env, "get", "job", job_name, "-n", namespace, "-o", "json").stdout)
    download_env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["initContainers"][0]["env"]}
    assert download_env["RESTORE_BLOB_NAME"] == blob
    sts = json.loads(kubectl(prodlike.env, "get", "statefulset", "neo4j", "-n", namespace, "-o", "json").stdout)
    assert sts["spec"]["replicas"] == 1
