"""inventories/local through kubelogin, as on AKS with Entra ID and local accounts disabled: the ARM double answers
listClusterUserCredential for the local resource group with AKS's exec kubeconfig, the infra role converts it
(login auto -> spn) and checks it, and site.yml, backup.yml and restore.yml then reach the kwok cluster only with
tokens the real kubelogin got from the double's Entra endpoint and the API server validated (no client certificate
and no token in the file, and anonymous requests cannot write). The job's environment carries the service principal
as an AWX Azure credential injects it. Prints the token requests and wall time per run: the cost of the login."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from ansible_collections.neo4j_azure.aks.plugins.module_utils.backup_retention import backup_name
from testenv.arm_double.client import ArmDoubleClient, azure_credential_env
from testenv_client import NEO4J_STATEFULSET, REPO, kubectl, run_playbook

HOST = "neo4j-local"
LOCAL = REPO / "inventories" / "local"
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


@pytest.fixture(scope="module")
def env(testenv_for):
    env = testenv_for()
    if not (Path(env["TESTENV_BIN_DIR"]) / "kubelogin").exists() or "TESTENV_AKS_ISSUER" not in env:
        pytest.skip("the test environment has no kubelogin or no Entra issuer (run testenv.py up again)")
    return {**env, **azure_credential_env(env)}


class Runs:
    """Playbook runs on inventories/local, with the AKS tokens the double issued during each."""

    def __init__(self, env):
        self.env, self.arm = env, ArmDoubleClient(env)
        self.figures = []

    def tokens(self) -> int:
        return self.arm.counters().get(f"Entra_tokens_issued:{AKS_SERVER_APP_ID}", 0)

    def run(self, playbook: str, **kwargs):
        before = self.tokens()
        # The admin kubeconfig stays the tests' own: a task that fell back to KUBECONFIG / K8S_AUTH_KUBECONFIG
        # instead of the role's kubeconfig would fail here rather than pass with the client certificate.
        missing = str(Path(self.env["TESTENV_STATE_DIR"]) / "no-kubeconfig-outside-the-roles")
        result = run_playbook(str(REPO / "playbooks" / playbook), env=self.env, inventory=str(LOCAL),
                              extra_env={"KUBECONFIG": missing, "K8S_AUTH_KUBECONFIG": missing}, **kwargs)
        self.figures.append((playbook, result.wall, self.tokens() - before))
        print(f"{playbook}: {result.wall:.1f} s, {self.tokens() - before} AKS token requests")
        return result


@pytest.fixture(scope="module")
def runs(env, tmp_path_factory):
    # kubelogin's token cache (<XDG_CACHE_HOME>/.IdentityService) of this module only, empty at the start like an
    # AWX job's: the counts below are what a fresh job pays.
    return Runs({**env, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("kubelogin-cache"))})


def kubeconfig_user(env) -> dict:
    path = Path(env["TESTENV_STATE_DIR"]) / "local-aks.kubeconfig"
    text = path.read_text()
    assert "client-certificate-data" not in text and "client-key-data" not in text and "token:" not in text
    assert env["TESTENV_AZURE_CLIENT_SECRET"] not in text and "eyJ" not in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return yaml.safe_load(text)["users"][0]["user"]


def test_site_logs_in_through_kubelogin(env, runs):
    first = runs.run("site.yml")
    assert first.rc == 0, first
    fetched = first.task("neo4j_azure.aks.infra : Write the cluster kubeconfig", HOST)
    assert fetched["login"] == "spn" and fetched["access"]["status_code"] == 200, fetched
    user = kubeconfig_user(env)
    assert user["exec"]["command"] == "kubelogin" and user["exec"]["args"][:3] == ["get-token", "--login", "spn"]
    assert runs.figures[-1][2] >= 1  # a token for the AKS server application, cached by kubelogin for the rest

    second = runs.run("site.yml")
    assert second.rc == 0, second
    assert second.changed(HOST) == 0, second.changed_tasks(HOST)
    assert second.task("neo4j_azure.aks.infra : Write the cluster kubeconfig", HOST)["access"]["status_code"] == 200


def test_backup_and_restore_log_in_through_kubelogin(env, runs):
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
    namespace = f"kl-{uuid.uuid4().hex[:6]}"
    kubectl(env, "create", "namespace", namespace)
    kubectl(env, "apply", "-f", "-", input_text=NEO4J_STATEFULSET % {"ns": namespace})
    container = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"]).create_container(
        f"kl-{uuid.uuid4().hex[:10]}")
    try:
        backup = runs.run("backup.yml", extra_vars={"backup_namespace": namespace, "backup_run_now": False,
                                                    "backup_container": container.container_name})
        assert backup.rc == 0, backup
        blob = backup_name("neo4j-backups", "local", "neo4j", datetime.now(timezone.utc) - timedelta(hours=1))
        container.upload_blob(blob, b"dump", metadata={"backup_complete": "true"})
        restore = runs.run("restore.yml", extra_vars={
            "restore_confirm": "local", "restore_namespace": namespace, "restore_container": container.container_name,
            "restore_validate": False, "restore_job_wait_timeout": 180})
        assert restore.rc == 0, restore
        assert restore.task("Name the restore Job", HOST)["ansible_facts"]["restore_job_name"]
        kubeconfig_user(env)
    finally:
        container.delete_container()
        kubectl(env, "delete", "namespace", namespace, "--wait=false", check=False)
    print("figures (playbook, wall s, AKS token requests):", runs.figures)
