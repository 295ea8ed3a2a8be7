"""roles/backup against the kwok cluster (real apiserver + controllers) and Azurite (retention).

Proves: the ServiceAccount, script ConfigMap, CronJob and on-demand Job render with the ServiceAccount,
workload-identity label, schedule, env and volumes expected; a second install is changed=false; check mode
creates nothing; a Community on-demand run stops the StatefulSet, runs the Job to completion and starts it
again. Containers do not run on kwok: what they run is tested by tests/integration/roles/test_backup_roundtrip.py.
"""

from __future__ import annotations

import json
import uuid

import pytest

from kube_recorder import KubeRecorder
from testenv_client import NEO4J_STATEFULSET, kubectl, localhost_play, run_playbook

CLIENT_ID = "00000000-0000-0000-0000-0000000000b1"


@pytest.fixture(scope="module")
def env(testenv_for):
    testenv_for("azurite")
    return testenv_for("kube")


def get(env, kind, name, namespace):
    proc = kubectl(env, "get", kind, name, "-n", namespace, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


@pytest.fixture()
def namespace(env):
    name = f"backup-{uuid.uuid4().hex[:6]}"
    kubectl(env, "create", "namespace", name)
    yield name
    kubectl(env, "delete", "namespace", name, "--wait=false", check=False)


def role_play(env, namespace, tasks_from="main", **overrides):
    role_vars = {
        "backup_namespace": namespace,
        "backup_environment": "dev",
        "backup_storage_account_url": "https://neo4jdevbackups.blob.core.windows.net",
        "backup_container": f"c{uuid.uuid4().hex[:10]}",
        "backup_workload_identity_client_id": CLIENT_ID,
        "backup_neo4j_edition": "enterprise",
        "backup_schedule": "30 1 * * *",
        "backup_databases": ["neo4j", "movies"],
        # Retention runs from the controller against Azurite (AZURE_STORAGE_CONNECTION_STRING).
        "backup_retention_account_url": "",
        **overrides,
    }
    include = {"name": "neo4j_azure.aks.backup", "tasks_from": tasks_from}
    task = {"name": "Backup role", "ansible.builtin.include_role": include}
    return localhost_play([task], vars_=role_vars)


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_install_renders_cronjob_and_is_idempotent(env, namespace, tmp_path):
    play = role_play(env, namespace)

    check = run_playbook(play, env=env, check=True, diff=True)
    assert check.rc == 0, check
    assert get(env, "cronjob", "neo4j-backup", namespace) is None, "check mode created the CronJob"

    first = run_playbook(play, env=env)
    assert first.rc == 0, first
    assert first.changed() > 0

    # The no-op re-run through a recording proxy: every object is read and found as wanted, nothing is written.
    with KubeRecorder(env["KUBECONFIG"], tmp_path / "recorded.kubeconfig") as recorder:
        second = run_playbook(play, env={**env, **recorder.env})
    assert second.rc == 0, second
    assert second.changed() == 0, second.changed_tasks()
    assert recorder.log, "the re-run went through the recording proxy"
    assert recorder.writes() == [], recorder.writes()

    sa = get(env, "serviceaccount", "neo4j-backup", namespace)
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == CLIENT_ID

    script = get(env, "configmap", "neo4j-backup-script", namespace)["data"]["neo4j-backup.sh"]
    assert "neo4j-admin" not in script.splitlines()[0] and "backup_complete=true" in script

    cron = get(env, "cronjob", "neo4j-backup", namespace)
    assert cron["spec"]["schedule"] == "30 1 * * *"
    assert cron["spec"]["timeZone"] == "Etc/UTC"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == "neo4j-backup"
    admin, = pod["spec"]["initContainers"]
    upload, = pod["spec"]["containers"]
    assert admin["image"] == "neo4j:5.26-enterprise"
    assert admin["command"] == ["bash", "/scripts/neo4j-backup.sh", "backup"]
    assert env_of(admin) == {
        "BACKUP_WORK_DIR": "/backup-work", "BACKUP_EDITION": "enterprise", "BACKUP_DATABASES": "neo4j movies",
        "BACKUP_CONSISTENCY_CHECK": "true", "BACKUP_FROM": f"neo4j.{namespace}.svc.cluster.local:6362"}
    assert admin["resources"]["requests"] == {"cpu": "500m", "memory": "2Gi"}
    assert upload["image"].startswith("mcr.microsoft.com/azure-cli:")
    upload_env = env_of(upload)
    assert upload_env["BACKUP_ENVIRONMENT"] == "dev"
    assert upload_env["BACKUP_BLOB_ENDPOINT"] == "https://neo4jdevbackups.blob.core.windows.net"
    # No account key, SAS or connection string anywhere in the objects.
    rendered = json.dumps([cron, sa, script]).lower()
    assert "accountkey" not in rendered and "connection_string" not in rendered.replace(
        "azure_storage_connection_string", "") and "sig=" not in rendered
    # Enterprise backs up online: the data volume is not mounted.
    assert {v["name"] for v in pod["spec"]["volumes"]} == {"scripts", "work"}

    # Disabling the schedule removes the CronJob.
    off = run_playbook(role_play(env, namespace, backup_cronjob_enabled=False), env=env)
    assert off.rc == 0, off
    assert get(env, "cronjob", "neo4j-backup", namespace) is None


def test_community_cronjob_is_refused_with_a_reason(env, namespace):
    result = run_playbook(role_play(env, namespace, backup_neo4j_edition="community", backup_cronjob_enabled=True),
                          env=env)
    assert result.rc != 0
    assert "Community has no online backup" in result.stdout


def test_community_on_demand_job_stops_and_restarts_neo4j(env, namespace):
    kubectl(env, "apply", "-f", "-", input_text=NEO4J_STATEFULSET % {"ns": namespace})
    play = role_play(env, namespace, tasks_from="run", backup_neo4j_edition="community",
                     backup_databases=["neo4j"], backup_job_wait_timeout=180)
    result = run_playbook(play, env=env)
    assert result.rc == 0, result
    assert result.task("Stop Neo4j for the offline dump")["changed"]
    job_name = result.task("Name the backup Job")["ansible_facts"]["backup_job_name"]

    job = get(env, "job", job_name, namespace)
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "neo4j-backup"
    assert job["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    admin, = pod["initContainers"]
    assert env_of(admin)["BACKUP_EDITION"] == "community"
    assert "BACKUP_FROM" not in env_of(admin)
    assert {"name": "data", "mountPath": "/data"} in admin["volumeMounts"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-neo4j-0"}} in pod["volumes"]
    assert get(env, "statefulset", "neo4j", namespace)["spec"]["replicas"] == 1
    assert result.task("Prune backups by the retention policy")["changed"] is False
