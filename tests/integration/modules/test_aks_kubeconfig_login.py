"""aks_kubeconfig's Entra ID login, end to end: the ARM double answers listClusterUserCredential with AKS's
kubelogin exec kubeconfig, the module converts it, the real kubelogin gets a signed JWT from the double's Entra
endpoint, and the kwok cluster's kube-apiserver validates it (structured authentication: issuer, audience,
oid, groups) and authorizes it through the admin group's cluster-admin binding."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from testenv.arm_double.client import ArmDoubleClient, module_defaults
from testenv_client import FILES, localhost_play, run_playbook

AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
SHORT_LIFETIME_S = 4


@pytest.fixture(scope="module")
def env(testenv_for):
    env = testenv_for("kube", "arm")
    if "TESTENV_AKS_ISSUER" not in env:
        pytest.skip("the test environment's kube-apiserver predates the Entra issuer (run testenv.py up again)")
    kubelogin = Path(env["TESTENV_BIN_DIR"]) / "kubelogin"
    if not kubelogin.exists():
        pytest.skip(f"kubelogin is not built ({kubelogin}); run tests/testenv/build-binaries.sh kubelogin")
    return env


@pytest.fixture(scope="module")
def arm(env):
    return ArmDoubleClient(env)


@pytest.fixture(scope="module")
def run_env(env, tmp_path_factory):
    """The playbook's own environment, as an AWX credential injects it: kubelogin reads the service principal's
    secret, the federated token file and the ids from here when the Kubernetes tasks run."""
    home = tmp_path_factory.mktemp("wi")
    token_file = home / "federated-token"
    token_file.write_text(env["TESTENV_AZURE_FEDERATED_TOKEN"])
    os.chmod(token_file, 0o600)
    return {"PATH": f"{env['TESTENV_BIN_DIR']}:{os.environ['PATH']}",
            "AZURE_CLIENT_ID": env["TESTENV_AZURE_CLIENT_ID"], "AZURE_TENANT_ID": env["TESTENV_AZURE_TENANT_ID"],
            "AZURE_CLIENT_SECRET": env["TESTENV_AZURE_CLIENT_SECRET"],
            "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
            # kubelogin's token cache (<cache dir>/.IdentityService) of this module only: counts start from zero
            "XDG_CACHE_HOME": str(home / "cache")}


@pytest.fixture(scope="module")
def cluster(env, arm):
    """An Entra ID managed cluster (aadProfile, local accounts disabled) whose resource group gets exec kubeconfigs."""
    rg = "rg-aks-entra-" + uuid.uuid4().hex[:8]
    name = "aks-" + uuid.uuid4().hex[:6]
    template = json.loads((FILES / "arm" / "aks.json").read_text())
    template["resources"][0]["properties"]["aadProfile"] = {
        "managed": True, "enableAzureRBAC": False, "adminGroupObjectIDs": [env["TESTENV_AKS_ADMIN_GROUP_ID"]]}
    arm.call("POST", "/_testenv/entra/exec-kubeconfig", {"add": [rg]})
    res = run_playbook(play(env, {"name": "cluster", "neo4j_azure.aks.bicep_deployment": {
        "name": "aks", "resource_group": rg, "create_resource_group": True, "location": "westeurope",
        "template": template, "parameters": {"clusterName": name, "disableLocalAccounts": True}}}), env=env)
    assert res.rc == 0, res
    yield rg, name
    arm.call("POST", "/_testenv/entra/exec-kubeconfig", {"remove": [rg]})
    run_playbook(play(env, {"name": "cleanup", "neo4j_azure.aks.bicep_deployment": {
        "name": "aks", "resource_group": rg, "state": "absent", "delete_resource_group": True}}), env=env)


@pytest.fixture(scope="module")
def side_identities(env, arm, cluster, tmp_path_factory):
    """Two more service principals, their kubeconfigs fetched in one run: one outside the admin group, one whose
    tokens live SHORT_LIFETIME_S seconds."""
    rg, name = cluster
    workdir = tmp_path_factory.mktemp("side")
    identities = {
        "outsider": {"client_id": str(uuid.uuid4()), "secret": "outsider-" + uuid.uuid4().hex,
                     "groups": [str(uuid.uuid4())]},
        "short": {"client_id": str(uuid.uuid4()), "secret": "short-" + uuid.uuid4().hex,
                  "groups": [env["TESTENV_AKS_ADMIN_GROUP_ID"]], "token_lifetime_s": SHORT_LIFETIME_S},
    }
    tasks = []
    for key, identity in identities.items():
        identity["object_id"] = arm.call("POST", "/_testenv/entra/clients", identity)["object_id"]
        identity["kubeconfig"] = workdir / f"{key}.kubeconfig"
        tasks.append(fetch(rg, name, identity["kubeconfig"], key, client_id=identity["client_id"],
                           secret=identity["secret"]))
    res = run_playbook(play(env, *tasks), env=env)
    assert res.rc == 0, res
    return identities


def play(env, *tasks):
    return localhost_play(list(tasks), module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})


def fetch(rg, name, path, register, **extra):
    return {"name": f"fetch {register}", "register": register, "neo4j_azure.aks.aks_kubeconfig": {
        "resource_group": rg, "cluster_name": name, "path": str(path), **extra}}


def aks_tokens(arm) -> int:
    return arm.counters().get(f"Entra_tokens_issued:{AKS_SERVER_APP_ID}", 0)


def kubectl(env, kubeconfig, *args, extra_env=None):
    return subprocess.run([env["KUBECTL_BIN"], "--kubeconfig", str(kubeconfig), *args], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, **(extra_env or {})})


def test_spn_and_workload_identity_logins_reach_the_cluster(env, arm, cluster, run_env, tmp_path):
    rg, name = cluster
    spn, wi = tmp_path / "spn.kubeconfig", tmp_path / "wi.kubeconfig"
    configmap = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "entra-login-" + uuid.uuid4().hex[:6], "namespace": "default"},
                 "data": {"login": "spn"}}
    tasks = [
        fetch(rg, name, spn, "spn"),  # login=auto: auth_source service_principal -> spn
        {**fetch(rg, name, wi, "wi", auth_source="workload_identity",
                 federated_token_file=run_env["AZURE_FEDERATED_TOKEN_FILE"]), "no_log": False},
        {"name": "apply as the service principal", "register": "applied",
         "kubernetes.core.k8s": {"kubeconfig": str(spn), "definition": configmap}},
        {"name": "read as the workload identity", "register": "read",
         # its own kubelogin cache: the same app's token from the spn login would be reused otherwise
         "environment": {"XDG_CACHE_HOME": run_env["XDG_CACHE_HOME"] + "-wi"},
         "kubernetes.core.k8s_info": {"kubeconfig": str(wi), "kind": "ConfigMap", "namespace": "default",
                                      "name": configmap["metadata"]["name"]}},
    ]
    before = aks_tokens(arm)
    try:
        first = run_playbook(play(env, *tasks), env=env, verbosity=3, json_output=False, extra_env=run_env)
        assert first.rc == 0, first.stdout[-4000:]
        for secret in (env["TESTENV_AZURE_CLIENT_SECRET"], env["TESTENV_AZURE_FEDERATED_TOKEN"]):
            assert secret not in first.stdout and secret not in first.stderr
        assert "eyJ0eXAi" not in first.stdout  # no JWT (the double's tokens start with this header)
        assert aks_tokens(arm) - before >= 2  # tokens for the AKS server app, validated by the API server

        issued = aks_tokens(arm)
        second = run_playbook(play(env, *tasks), env=env, extra_env=run_env)
        assert second.rc == 0, second
        print(f"AKS tokens issued: first run {issued - before}, second run {aks_tokens(arm) - issued} "
              f"(kubelogin's cache); run times {first.wall:.1f}s (-vvv) and {second.wall:.1f}s")
        assert second.changed_tasks() == []
        assert second.task("fetch spn")["login"] == "spn"
        assert second.task("fetch wi")["login"] == "workloadidentity"
        assert second.task("read as the workload identity")["resources"][0]["data"] == {"login": "spn"}
    finally:
        kubectl(env, env["KUBECONFIG"], "delete", "configmap", configmap["metadata"]["name"], "--ignore-not-found")

    for path in (spn, wi):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        text = path.read_text()
        assert env["TESTENV_AZURE_CLIENT_SECRET"] not in text and env["TESTENV_AZURE_FEDERATED_TOKEN"] not in text
        assert "eyJ" not in text and "client-key-data" not in text and "token:" not in text
        user = yaml.safe_load(text)["users"][0]["user"]
        assert user["exec"]["command"] == "kubelogin" and "devicecode" not in user["exec"]["args"]
    spn_args = yaml.safe_load(spn.read_text())["users"][0]["user"]["exec"]["args"]
    assert spn_args[:5] == ["get-token", "--login", "spn", "--server-id", AKS_SERVER_APP_ID]


def test_bad_tokens_other_groups_and_devicecode_are_refused(env, arm, cluster, run_env, side_identities,
                                                            tmp_path):
    rg, name = cluster
    kube_cluster = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())["clusters"][0]["cluster"]
    server, ca = kube_cluster["server"], kube_cluster["certificate-authority"]
    tokens = {
        "another audience": arm.call("POST", "/_testenv/entra/tokens", {"audience": "https://management.azure.com"}),
        "another issuer": arm.call("POST", "/_testenv/entra/tokens", {
            "audience": AKS_SERVER_APP_ID, "issuer": "https://sts.windows.net/" + env["TESTENV_AZURE_TENANT_ID"] + "/"}),
        "expired": arm.call("POST", "/_testenv/entra/tokens", {"audience": AKS_SERVER_APP_ID, "lifetime_s": -120}),
    }
    tasks = [{"name": f"list with a token for {case}", "register": "r", "ignore_errors": True, "no_log": False,
              "kubernetes.core.k8s_info": {"host": server, "ca_cert": str(ca), "api_key": body["access_token"],
                                           "kind": "Namespace"}} for case, body in tokens.items()]
    tasks.append({**fetch(rg, name, tmp_path / "dc.kubeconfig", "devicecode", login="devicecode"),
                  "ignore_errors": True})
    res = run_playbook(play(env, *tasks), env=env, extra_env=run_env)
    for case in tokens:
        failed = res.task(f"list with a token for {case}")
        assert failed.get("failed") and "401" in failed["msg"] and "Unauthorized" in failed["msg"], (case, failed)
    refused = res.task("fetch devicecode")
    if refused.get("failed"):
        assert "login=devicecode" in refused["msg"] and "no terminal" in refused["msg"]
        assert refused["option"] == "login"
        assert not (tmp_path / "dc.kubeconfig").exists()
    else:  # a terminal is attached to this run (a developer's shell): device code is then allowed
        assert os.path.exists("/dev/tty") and refused["login"] == "devicecode"

    # An identity outside the admin group: kubelogin logs it in, the API server authenticates it, RBAC says 403.
    outsider = side_identities["outsider"]
    out = kubectl(env, outsider["kubeconfig"], "get", "namespaces", extra_env={
        **run_env, "AZURE_CLIENT_ID": outsider["client_id"], "AZURE_CLIENT_SECRET": outsider["secret"]})
    assert out.returncode != 0 and "Forbidden" in out.stderr and outsider["object_id"] in out.stderr, out.stderr


def test_an_expired_token_is_renewed(env, arm, run_env, side_identities):
    """One client (the kubernetes Python client kubernetes.core uses) keeps working across a token's expiry:
    it runs kubelogin again when the ExecCredential's expirationTimestamp has passed."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    short = side_identities["short"]
    saved = dict(os.environ)
    os.environ.update({**run_env, "AZURE_CLIENT_ID": short["client_id"], "AZURE_CLIENT_SECRET": short["secret"]})
    try:
        api = client.CoreV1Api(config.new_client_from_config(config_file=str(short["kubeconfig"])))
        before = aks_tokens(arm)
        assert api.list_namespace().items
        time.sleep(SHORT_LIFETIME_S + 2)
        assert api.list_namespace().items
        assert aks_tokens(arm) - before >= 2  # a second token was fetched after the first expired
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_check_access_says_why_a_login_is_refused(env, arm, cluster, run_env, side_identities, tmp_path):
    """check_access: the real kubelogin gets tokens the double makes wrong on purpose (for the AKS server
    application only: ARM still accepts these clients), the API server refuses them (401), and the task says
    which claim is wrong; an identity outside the admin group gets 403 and the task names the group."""
    rg, name = cluster
    admin = env["TESTENV_AKS_ADMIN_GROUP_ID"]
    cases = {
        "another audience": ({"audience": "https://management.azure.com"},
                             ["401 Unauthorized", "audience is https://management.azure.com", AKS_SERVER_APP_ID]),
        "another issuer": ({"issuer": f"https://sts.windows.net/{env['TESTENV_AZURE_TENANT_ID']}/"},
                           ["401 Unauthorized", "issuer is https://sts.windows.net/", env["TESTENV_AKS_ISSUER"]]),
        "expired": ({"lifetime_s": -120}, ["401 Unauthorized", "token expired", "clock"]),
    }
    identities = {}
    for case, (aks_token, _words) in cases.items():
        identity = {"client_id": str(uuid.uuid4()), "secret": "bad-" + uuid.uuid4().hex, "groups": [admin],
                    "aks_token": aks_token}
        arm.call("POST", "/_testenv/entra/clients", identity)
        identities[case] = identity
    outsider = side_identities["outsider"]
    identities["outside the admin group"] = outsider

    def checked(case, identity):
        return {**fetch(rg, name, tmp_path / f"{case}.kubeconfig", case.replace(" ", "_"),
                        client_id=identity["client_id"], secret=identity["secret"], check_access=True,
                        admin_group_object_ids=[admin]),
                "name": f"check {case}", "ignore_errors": True,
                # the secret kubelogin reads, as the job's credential injects it
                "environment": {"AZURE_CLIENT_ID": identity["client_id"], "AZURE_CLIENT_SECRET": identity["secret"]}}
    tasks = [checked(case, identity) for case, identity in identities.items()]
    tasks.append({**fetch(rg, name, tmp_path / "admin.kubeconfig", "admin", check_access=True,
                          admin_group_object_ids=[admin]), "name": "check the admin"})
    res = run_playbook(play(env, *tasks), env=env, extra_env=run_env)
    for case, (_aks_token, words) in cases.items():
        failed = res.task(f"check {case}")
        assert failed.get("failed") and failed["status_code"] == 401 and failed["option"] == "login", (case, failed)
        for word in words:
            assert word in failed["msg"], (case, word, failed["msg"])
        assert "eyJ" not in failed["msg"]
        assert not (tmp_path / f"{case}.kubeconfig").exists()  # a login that does not get in writes nothing
    forbidden = res.task("check outside the admin group")
    assert forbidden.get("failed") and forbidden["status_code"] == 403, forbidden
    assert admin in forbidden["msg"] and outsider["object_id"] in forbidden["msg"]
    assert "not a member of the admin group" in forbidden["msg"] and forbidden["option"] == "admin_group_object_ids"
    good = res.task("check the admin")
    assert not good.get("failed") and good["access"]["status_code"] == 200, good
    assert "eyJ" not in res.stdout


def write_certificate(path: Path) -> str:
    """A self-signed RSA certificate and its key in one PEM file (PKCS#8, as kubelogin and azure-identity read it);
    returns the certificate's PEM (what is registered on the application)."""
    import datetime  # pylint: disable=import-outside-toplevel
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "neo4j-aks-test-spn")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    path.write_text(cert_pem + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()).decode())
    os.chmod(path, 0o600)
    return cert_pem


def test_certificate_spn_login_reaches_the_cluster(env, arm, cluster, run_env, tmp_path):
    """A service principal with a certificate: azure-identity (ARM) and kubelogin (the cluster) both sign client
    assertions with its key, the double checks them against the registered certificate, the API server validates
    the token; nothing of the key is in the kubeconfig, only the certificate file's path."""
    rg, name = cluster
    cert_file = tmp_path / "spn.pem"
    client_id = str(uuid.uuid4())
    arm.call("POST", "/_testenv/entra/clients", {"client_id": client_id, "certificate": write_certificate(cert_file),
                                                 "groups": [env["TESTENV_AKS_ADMIN_GROUP_ID"]]})
    auth = {k: v for k, v in module_defaults(env).items() if k != "secret"}
    auth.update(client_id=client_id, certificate_path=str(cert_file))
    kubeconfig = tmp_path / "cert.kubeconfig"
    task = {**fetch(rg, name, kubeconfig, "cert", check_access=True,
                    admin_group_object_ids=[env["TESTENV_AKS_ADMIN_GROUP_ID"]])}
    # No secret in this job's environment: kubelogin would prefer AZURE_CLIENT_SECRET to the certificate.
    job_env = {k: v for k, v in run_env.items() if k not in ("AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE")}
    job_env["AZURE_CLIENT_ID"] = client_id
    plays = localhost_play([task], module_defaults={"group/neo4j_azure.aks.azure": auth})
    before = aks_tokens(arm)
    first = run_playbook(plays, env=env, extra_env=job_env)
    assert first.rc == 0, first
    assert first.task("fetch cert")["login"] == "spn" and first.task("fetch cert")["access"]["status_code"] == 200
    assert aks_tokens(arm) > before
    second = run_playbook(plays, env=env, extra_env=job_env)
    assert second.rc == 0 and second.changed_tasks() == [], second
    args = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--client-certificate") + 1] == str(cert_file)
    assert "PRIVATE KEY" not in kubeconfig.read_text()
    out = kubectl(env, kubeconfig, "get", "namespaces", "-o", "name", extra_env=job_env)
    assert out.returncode == 0 and "namespace/default" in out.stdout, out.stderr
