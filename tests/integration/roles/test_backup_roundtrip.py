"""A real backup round trip with Neo4j's own tools and the same script the Kubernetes Jobs run.

Real here: Neo4j 5.26 Community (the test environment's jars), `neo4j-admin database dump/check/load`, the
Azure CLI (`az storage ...`, the same commands the Job's Azure CLI container runs), Azurite as the Blob
service, roles/backup/files/neo4j-backup.sh. Not real: the auth (a connection string in the environment
instead of workload identity: `az login --federated-token` needs Entra ID) and the pods (kwok runs none).

Create data -> stop -> `backup` step (dump + consistency check) -> `upload` step (blob marked complete last)
-> a fresh Neo4j instance -> `download` step (refuses an incomplete blob) -> `load` step
(--overwrite-destination) -> start -> the data is there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import parse_backup_name

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "roles" / "backup" / "files" / "neo4j-backup.sh"
AZURE_CLI_VERSION = "2.91.0"  # the tag of backup_cli_image (mcr.microsoft.com/azure-cli)

from testenv.components.neo4j_server import private_instance


@pytest.fixture(scope="module")
def az_cli():
    """The Azure CLI: AZ_BIN, `az` on PATH, or installed once from PyPI into the test cache."""
    found = os.environ.get("AZ_BIN") or shutil.which("az")
    if found:
        return found
    venv = Path(os.environ.get("NEO4J_AKS_CACHE", Path.home() / ".cache" / "neo4j-azure-aks")) / \
        f"azure-cli-{AZURE_CLI_VERSION}"
    az = venv / "bin" / "az"
    if not az.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        proc = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"azure-cli=={AZURE_CLI_VERSION}"],
                              capture_output=True, text=True, timeout=1200, check=False)
        if proc.returncode != 0:
            pytest.skip(f"the Azure CLI could not be installed from PyPI: {proc.stderr[-500:]}")
    return str(az)


@pytest.fixture(scope="module")
def stack(testenv_for):
    env = testenv_for("neo4j", "azurite")
    if not env.get("AZURE_STORAGE_CONNECTION_STRING"):
        pytest.skip("Azurite is not in the test environment (no AZURE_STORAGE_CONNECTION_STRING)")
    if env.get("TESTENV_REAL_NODE_AZCLI_IMAGE") and env.get("TESTENV_POD_BLOB_ENDPOINT") and \
            os.environ.get("TESTENV_ROUNDTRIP_ALWAYS") != "1":
        # The same script, neo4j-admin and Azure CLI then run in the real backup and restore Jobs
        # (tests/integration/realpod: test_backup_job_uploads_..., test_restore_job_loads_the_backup_and_refuses_...),
        # which assert all this does and more; this host-process copy costs CI about 3 minutes for nothing new.
        pytest.skip("the real node runs the backup and restore Jobs (tests/integration/realpod covers this round "
                    "trip in pods); TESTENV_ROUNDTRIP_ALWAYS=1 runs it here as well")
    return env


def run_step(step, env, timeout=600):
    started = time.monotonic()
    proc = subprocess.run(["bash", str(SCRIPT), step], env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    return proc, time.monotonic() - started


def count_markers(inst, token):
    import neo4j

    query = "MATCH (m:Marker {token: $token}) RETURN count(m) AS n"
    with neo4j.GraphDatabase.driver(inst.uri, auth=("neo4j", inst.password)) as driver:
        return driver.execute_query(query, token=token, database_="neo4j").records[0]["n"]


def test_dump_upload_download_load_round_trip(stack, az_cli, tmp_path):
    import neo4j
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    token = uuid.uuid4().hex
    container = f"roundtrip-{uuid.uuid4().hex[:10]}"
    blob_service = BlobServiceClient.from_connection_string(stack["AZURE_STORAGE_CONNECTION_STRING"])
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
        "AZ": az_cli, "AZURE_STORAGE_CONNECTION_STRING": stack["AZURE_STORAGE_CONNECTION_STRING"],
        "BACKUP_EDITION": "community", "BACKUP_DATABASES": "neo4j", "BACKUP_CONSISTENCY_CHECK": "true",
        "BACKUP_ENVIRONMENT": "test", "BACKUP_PREFIX": "neo4j-backups", "BACKUP_CONTAINER": container,
    }
    try:
        with private_instance(tmp_path / "source") as source:
            with neo4j.GraphDatabase.driver(source.uri, auth=("neo4j", source.password)) as driver:
                driver.execute_query("UNWIND range(1, 500) AS i CREATE (:Marker {token: $token, i: i})"
                                     "-[:NEXT]->(:Tail {i: i})", token=token, database_="neo4j")
            assert count_markers(source, token) == 500
            admin = source.write_wrappers()["NEO4J_ADMIN"]
            source.stop()  # Community: dump needs the DBMS stopped

            backup_env = {**base_env, **source.java_env(), "NEO4J_ADMIN": admin,
                          "BACKUP_WORK_DIR": str(tmp_path / "backup-work")}
            proc, dump_seconds = run_step("backup", backup_env)
            assert proc.returncode == 0, proc.stderr[-3000:]
            proc, upload_seconds = run_step("upload", backup_env)
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert stack["AZURE_STORAGE_KEY"] not in proc.stdout + proc.stderr

        blobs = list(blob_service.get_container_client(container).list_blobs(include=["metadata"]))
        assert len(blobs) == 1
        blob = blobs[0]
        environment, database, _created, kind = parse_backup_name(blob.name, "neo4j-backups")
        assert (environment, database, kind) == ("test", "neo4j", "dump")
        assert blob.metadata["backup_complete"] == "true" and blob.metadata["database"] == "neo4j"
        print(f"\nround trip: dump+check {dump_seconds:.1f}s, upload {upload_seconds:.1f}s, {blob.size} bytes")

        # An incomplete blob is refused by the download step.
        incomplete = blob.name.replace(".dump", "").rsplit("-", 1)[0] + "-20000101T000000Z.dump"
        blob_service.get_container_client(container).upload_blob(incomplete, b"partial")
        with private_instance(tmp_path / "target") as target:
            admin = target.write_wrappers()["NEO4J_ADMIN"]
            assert count_markers(target, token) == 0  # a fresh database
            target.stop()
            restore_env = {**base_env, **target.java_env(), "NEO4J_ADMIN": admin,
                           "BACKUP_WORK_DIR": str(tmp_path / "restore-work"), "RESTORE_DATABASE": "neo4j"}

            proc, _seconds = run_step("download", {**restore_env, "RESTORE_BLOB_NAME": incomplete})
            assert proc.returncode != 0 and "not marked backup_complete=true" in proc.stderr

            proc, download_seconds = run_step("download", {**restore_env, "RESTORE_BLOB_NAME": blob.name})
            assert proc.returncode == 0, proc.stderr[-3000:]
            proc, load_seconds = run_step("load", restore_env)
            assert proc.returncode == 0, proc.stderr[-3000:]
            print(f"round trip: download {download_seconds:.1f}s, load {load_seconds:.1f}s")

            target.start()
            assert count_markers(target, token) == 500
    finally:
        try:
            blob_service.delete_container(container)
        except ResourceNotFoundError:  # the upload step failed before creating it
            pass
