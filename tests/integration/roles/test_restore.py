"""roles/restore against the kwok cluster and Azurite: the prod guard, the choice of the backup (never an
incomplete one), the restore Job as rendered, and Neo4j scaled down then back. Containers do not run on kwok:
the download + load steps are exercised for real by tests/integration/roles/test_backup_roundtrip.py."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import backup_name
from testenv_client import NEO4J_STATEFULSET, kubectl, localhost_play, run_playbook


@pytest.fixture(scope="module")
def env(testenv_for):
    testenv_for("azurite")
    return testenv_for("kube")


@pytest.fixture()
def setup(env):
    from azure.storage.blob import BlobServiceClient

    namespace = f"restore-{uuid.uuid4().hex[:6]}"
    kubectl(env, "create", "namespace", namespace)
    kubectl(env, "apply", "-f", "-", input_text=NEO4J_STATEFULSET % {"ns": namespace})
    container = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"]).create_container(
        f"restore-{uuid.uuid4().hex[:10]}")
    now = datetime.now(timezone.utc)
    blobs = {}
    for key, age, complete in (("old", 3, True), ("good", 2, True), ("broken", 1, False)):
        name = backup_name("neo4j-backups", "prod", "neo4j", now - timedelta(days=age))
        container.upload_blob(name, b"dump", metadata={"backup_complete": "true"} if complete else None)
        blobs[key] = name
    yield namespace, container.container_name, blobs
    container.delete_container()
    kubectl(env, "delete", "namespace", namespace, "--wait=false", check=False)


def restore(env, namespace, container, **overrides):
    role_vars = {
        "restore_namespace": namespace,
        "restore_environment": "prod",
        "restore_environment_is_prod": True,
        "restore_storage_account_url": "https://neo4jprodbackups.blob.core.windows.net",
        "restore_list_account_url": "",  # list through Azurite (AZURE_STORAGE_CONNECTION_STRING)
        "restore_container": container,
        "restore_workload_identity_client_id": "00000000-0000-0000-0000-0000000000b1",
        "restore_validate": False,
        "restore_job_wait_timeout": 180,
        **overrides,
    }
    task = {"name": "Restore role", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.restore"}}
    return run_playbook(localhost_play([task], vars_=role_vars), env=env)


def test_prod_restore_needs_the_confirmation(env, setup):
    namespace, container, _blobs = setup
    result = restore(env, namespace, container)
    assert result.rc != 0
    assert "restore_confirm=prod" in result.task("Require the confirmation")["msg"]
    result = restore(env, namespace, container, restore_confirm="staging")
    assert result.rc != 0
    assert json.loads(kubectl(env, "get", "jobs", "-n", namespace, "-o", "json").stdout)["items"] == []


def test_restores_the_latest_complete_backup_and_scales_back(env, setup):
    namespace, container, blobs = setup
    result = restore(env, namespace, container, restore_confirm="prod")
    assert result.rc == 0, result
    assert result.task("Stop Neo4j")["changed"]
    job_name = result.task("Name the restore Job")["ansible_facts"]["restore_job_name"]
    job = json.loads(kubectl(env, "get", "job", job_name, "-n", namespace, "-o", "json").stdout)
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == "neo4j-backup"
    download, = pod["spec"]["initContainers"]
    load, = pod["spec"]["containers"]
    download_env = {e["name"]: e["value"] for e in download["env"]}
    assert download_env["RESTORE_BLOB_NAME"] == blobs["good"]  # not the newer, incomplete one
    assert load["command"] == ["bash", "/scripts/neo4j-backup.sh", "load"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-neo4j-0"}} in pod["spec"]["volumes"]
    sts = json.loads(kubectl(env, "get", "statefulset", "neo4j", "-n", namespace, "-o", "json").stdout)
    assert sts["spec"]["replicas"] == 1


def test_named_or_dated_backup_and_incomplete_refused(env, setup):
    namespace, container, blobs = setup
    result = restore(env, namespace, container, restore_environment_is_prod=False,
                     restore_backup_name=blobs["broken"])
    assert result.rc != 0
    assert "No complete backup" in result.task("Check the chosen backup is complete")["msg"]

    before = (datetime.now(timezone.utc) - timedelta(days=2, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = restore(env, namespace, container, restore_environment_is_prod=False, restore_before=before)
    assert result.rc == 0, result
    assert result.task("Choose the backup")["ansible_facts"]["restore_backup"]["name"] == blobs["old"]
