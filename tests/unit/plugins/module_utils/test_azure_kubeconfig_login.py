"""azure_kubeconfig_login: the kubelogin mode derived from auth_source and AKS's exec user rewritten for it, the
way kubelogin convert-kubeconfig rewrites it (no secret, no token, device code refused without a terminal)."""

from __future__ import annotations

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure_kubeconfig_login as login

SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
TENANT = "b7e1d2c3-4f5a-4b6c-8d9e-0a1b2c3d4e5f"
AKS_ARGS = ["get-token", "--environment", "AzurePublicCloud", "--server-id", SERVER_ID, "--client-id",
            "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", TENANT, "--login", "devicecode"]


def aks_kubeconfig():
    return {"apiVersion": "v1", "kind": "Config", "current-context": "aks",
            "clusters": [{"name": "aks", "cluster": {"server": "https://aks.example:443"}}],
            "contexts": [{"name": "aks", "context": {"cluster": "aks", "user": "clusterUser_rg_aks"}}],
            "users": [{"name": "clusterUser_rg_aks", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin", "args": list(AKS_ARGS),
                "env": None, "installHint": "install kubelogin", "provideClusterInfo": False}}}]}


@pytest.mark.parametrize("params, environ, expected", [
    ({"auth_source": "service_principal"}, {}, "spn"),
    ({"auth_source": "workload_identity"}, {}, "workloadidentity"),
    ({"auth_source": "msi"}, {}, "msi"),
    ({"auth_source": "cli"}, {}, "azurecli"),
    ({"auth_source": "auto", "client_id": "c", "secret": "s"}, {}, "spn"),
    ({"auth_source": "auto", "client_id": "c", "certificate_path": "/c.pem"}, {}, "spn"),
    ({"auth_source": "auto"}, {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}, "workloadidentity"),
    ({"auth_source": "env"}, {}, "spn"),
    ({"auth_source": "auto"}, {"IDENTITY_ENDPOINT": "http://169.254.169.254"}, "msi"),
    ({"auth_source": "auto"}, {}, "azurecli"),
    ({"auth_source": "service_principal", "login": "msi"}, {}, "msi"),
])
def test_mode_derived_from_auth_source(params, environ, expected):
    assert login.resolve_login(params, environ) == expected


def test_spn_conversion_names_the_client_and_never_the_secret():
    params = {"login": "spn", "client_id": "sp-id", "tenant": TENANT, "secret": "s3cret-value"}
    converted, mode = login.apply_login(aks_kubeconfig(), params)
    assert mode == "spn"
    exec_conf = converted["users"][0]["user"]["exec"]
    assert exec_conf["args"] == ["get-token", "--login", "spn", "--server-id", SERVER_ID, "--client-id", "sp-id",
                                 "--tenant-id", TENANT, "--environment", "AzurePublicCloud"]
    assert "s3cret-value" not in repr(converted)
    assert exec_conf["installHint"] == "install kubelogin" and exec_conf["interactiveMode"] == "Never"
    assert aks_kubeconfig()["users"][0]["user"]["exec"]["args"] == AKS_ARGS  # input untouched


def test_spn_with_certificate_and_test_authority():
    params = {"login": "spn", "client_id": "sp-id", "tenant": TENANT, "certificate_path": "/etc/sp.pem",
              "endpoint_override": {"authority": "https://127.0.0.1:8443/", "ca_bundle": "/tmp/ca.pem"}}
    exec_conf = login.apply_login(aks_kubeconfig(), params)[0]["users"][0]["user"]["exec"]
    assert exec_conf["args"][-5:] == ["--client-certificate", "/etc/sp.pem", "--authority-host",
                                      "https://127.0.0.1:8443/", "--disable-instance-discovery"]
    assert {"name": "SSL_CERT_FILE", "value": "/tmp/ca.pem"} in exec_conf["env"]


@pytest.mark.parametrize("params, args", [
    ({"login": "workloadidentity"}, []),
    ({"login": "workloadidentity", "client_id": "c", "tenant": "t", "federated_token_file": "/f"},
     ["--client-id", "c", "--tenant-id", "t", "--federated-token-file", "/f"]),
    ({"login": "msi", "client_id": "uami"}, ["--client-id", "uami"]),
    ({"login": "azurecli", "tenant": "t"}, ["--tenant-id", "t"]),
])
def test_other_modes(params, args):
    exec_conf = login.apply_login(aks_kubeconfig(), params)[0]["users"][0]["user"]["exec"]
    assert exec_conf["args"] == ["get-token", "--login", params["login"], "--server-id", SERVER_ID] + args


def test_spn_without_client_id_names_the_option():
    with pytest.raises(login.LoginError) as err:
        login.apply_login(aks_kubeconfig(), {"login": "spn", "tenant": TENANT})
    assert err.value.details == {"option": "client_id"} and "AZURE_CLIENT_SECRET" in err.value.message


def test_devicecode_refused_without_terminal_and_kept_with_one():
    with pytest.raises(login.LoginError) as err:
        login.apply_login(aks_kubeconfig(), {"login": "devicecode"}, terminal=False)
    assert "login=devicecode" in err.value.message and "no terminal" in err.value.message
    assert err.value.details == {"option": "login"}
    kept, mode = login.apply_login(aks_kubeconfig(), {"login": "devicecode"}, terminal=True)
    assert mode == "devicecode" and kept["users"][0]["user"]["exec"]["args"] == AKS_ARGS


def test_certificate_kubeconfigs_are_left_alone():
    cert = {"users": [{"name": "admin", "user": {"client-certificate-data": "x", "client-key-data": "y"}}]}
    assert login.apply_login(cert, {"login": "spn"}) == (cert, None)


def test_conversion_is_stable():
    params = {"login": "spn", "client_id": "sp-id", "tenant": TENANT}
    once = login.apply_login(aks_kubeconfig(), params)[0]
    assert login.apply_login(once, params)[0] == once  # a converted file converts to itself: changed stays false
