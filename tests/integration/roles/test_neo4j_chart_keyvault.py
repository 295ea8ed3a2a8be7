"""The chart's Key Vault mode (auth.keyVault): a SecretProviderClass with the workload identity, the vault and the
secret, applied server-side to the kwok cluster against the real CRD of the Secrets Store CSI driver (installed by
the keyvault component from the driver's Go module); the StatefulSet mounts it through the CSI driver and no
Kubernetes Secret holds the password unless syncSecret asks for one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from testenv_client import kubectl

CHART = Path(__file__).resolve().parents[3] / "roles" / "neo4j" / "files" / "chart"
CLIENT_ID = "0b9a8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
TENANT_ID = "b7e1d2c3-4f5a-4b6c-8d9e-0a1b2c3d4e5f"
KEYVAULT = ["auth.keyVault.enabled=true", "auth.keyVault.vaultName=neo4jprodkv", f"auth.keyVault.tenantId={TENANT_ID}",
            f"serviceAccount.workloadIdentityClientId={CLIENT_ID}"]


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "arm", "keyvault")


def render(env, *values):
    args = [env["HELM_BIN"], "template", "graph", str(CHART), "--namespace", "default"]
    for value in values:
        args += ["--set", value]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    return proc, [doc for doc in yaml.safe_load_all(proc.stdout or "") if doc]


def test_secretproviderclass_applies_against_the_real_crd(env):
    proc, docs = render(env, *KEYVAULT)
    assert proc.returncode == 0, proc.stderr
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert ("Secret", "graph-auth") not in kinds and not [d for d in docs if d["kind"] == "Secret"]
    spc = kinds[("SecretProviderClass", "graph-auth")]
    params = spc["spec"]["parameters"]
    assert spc["spec"]["provider"] == "azure" and params["usePodIdentity"] == "false"
    assert params["clientID"] == CLIENT_ID and params["tenantId"] == TENANT_ID
    assert params["keyvaultName"] == "neo4jprodkv"
    assert "objectName: neo4j-password" in params["objects"] and "secretObjects" not in spc["spec"]
    pod = kinds[("StatefulSet", "graph")]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["keyvault"]["csi"] == {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                                          "volumeAttributes": {"secretProviderClass": "graph-auth"}}
    assert volumes["auth"] == {"name": "auth", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}
    neo4j = pod["containers"][0]
    assert {"name": "NEO4J_AUTH_PATH", "value": "/config/neo4j-auth/NEO4J_AUTH"} in neo4j["env"]
    assert pod["initContainers"][-1]["name"] == "auth-from-keyvault"
    # The readiness probe asks with the driver's live mount first (refreshed after a rotation), then the copy made
    # at the pod's start: a rotation does not take the pod off the Service.
    assert {"name": "keyvault", "mountPath": "/keyvault", "readOnly": True} in neo4j["volumeMounts"]
    probe = neo4j["readinessProbe"]["exec"]["command"][2]
    assert probe.index("/keyvault/NEO4J_PASSWORD") < probe.index("/config/neo4j-auth/NEO4J_AUTH")

    crd = kubectl(env, "get", "crd", "secretproviderclasses.secrets-store.csi.x-k8s.io", "-o", "json")
    assert json.loads(crd.stdout)["spec"]["group"] == "secrets-store.csi.x-k8s.io"
    manifest = yaml.safe_dump(spc)
    applied = kubectl(env, "apply", "--server-side", "--field-manager", "test", "-f", "-", "-o", "json",
                      input_text=manifest)
    try:
        assert json.loads(applied.stdout)["spec"]["parameters"]["keyvaultName"] == "neo4jprodkv"
        again = kubectl(env, "apply", "--server-side", "--field-manager", "test", "-f", "-", "-o", "json",
                        input_text=manifest)
        first, second = json.loads(applied.stdout), json.loads(again.stdout)
        assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]  # no change
        # The real schema rejects what the driver would not read.
        bad = dict(spc, spec=dict(spc["spec"], provider=["azure"]))
        rejected = kubectl(env, "apply", "--server-side", "--dry-run=server", "-f", "-", input_text=yaml.safe_dump(bad),
                           check=False)
        assert rejected.returncode != 0 and "provider" in rejected.stderr
    finally:
        kubectl(env, "delete", "secretproviderclass", "graph-auth", "-n", "default", "--ignore-not-found", check=False)


def test_sync_secret_only_when_asked(env):
    proc, docs = render(env, *KEYVAULT, "auth.keyVault.syncSecret=true")
    assert proc.returncode == 0, proc.stderr
    spc = [d for d in docs if d["kind"] == "SecretProviderClass"][0]
    assert spc["spec"]["secretObjects"][0]["secretName"] == "graph-auth-synced"

    proc, dummy = render(env, "auth.keyVault.enabled=true", "auth.keyVault.vaultName=neo4jprodkv")
    assert proc.returncode != 0 and "workloadIdentityClientId" in proc.stderr
