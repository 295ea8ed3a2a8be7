"""azure_kubeconfig_access: why the API server refused a kubelogin token (401: audience, tenant, issuer, expiry read
from its claims) or an identity (403: the admin group it lacks), and the exec plugin run as kubectl runs it. The
token itself never appears in a message."""

from __future__ import annotations

import base64
import json
import sys

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure_kubeconfig_access as access

SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
TENANT = "b7e1d2c3-4f5a-4b6c-8d9e-0a1b2c3d4e5f"
AUTHORITY = "https://127.0.0.1:8443/"
ADMIN = "0f3c2b1a-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
NOW = 1_800_000_000


def jwt(**claims) -> str:
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def exec_conf(*extra):
    return {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
            "args": ["get-token", "--login", "spn", "--server-id", SERVER_ID, "--client-id", "c",
                     "--tenant-id", TENANT, *extra]}


def good(**override):
    claims = {"aud": SERVER_ID, "iss": f"https://127.0.0.1:8443/{TENANT}/v2.0", "tid": TENANT, "exp": NOW + 600,
              "nbf": NOW - 10, "oid": "oid-1", "groups": [ADMIN]}
    claims.update(override)
    return claims


def test_claims_are_decoded_without_the_signature():
    assert access.token_claims(jwt(aud="a", exp=1)) == {"aud": "a", "exp": 1}
    assert access.token_claims("not-a-jwt") == {}
    assert access.token_claims("a.!!!.c") == {}


def test_expected_issuers_follow_the_authority_or_the_cloud():
    private = access.expected_login(exec_conf("--authority-host", AUTHORITY))
    assert private == {"audience": SERVER_ID, "tenant": TENANT, "login": "spn",
                       "issuers": [f"https://127.0.0.1:8443/{TENANT}/v2.0"]}
    public = access.expected_login(exec_conf("--environment", "AzurePublicCloud"))
    assert public["issuers"] == [f"https://login.microsoftonline.com/{TENANT}/v2.0",
                                 f"https://sts.windows.net/{TENANT}/"]


@pytest.mark.parametrize("claims, words", [
    (good(aud="https://management.azure.com"), ["audience is https://management.azure.com", SERVER_ID]),
    (good(tid="other-tenant"), ["tenant other-tenant", f"trusts tenant {TENANT}"]),
    (good(iss=f"https://sts.windows.net/{TENANT}/"), ["issuer is https://sts.windows.net/", "v2.0"]),
    (good(exp=NOW - 120), ["expired 120 s ago", "clock"]),
    (good(nbf=NOW + 3600), ["not valid before"]),
    (good(), ["another reason"]),
    ({}, ["not a JWT"]),
])
def test_unauthorized_says_why(claims, words):
    reason = access.why_unauthorized(claims, access.expected_login(exec_conf("--authority-host", AUTHORITY)), NOW)
    for word in words:
        assert word in reason


def test_forbidden_names_the_admin_group():
    outsider = good(groups=["some-other-group"])
    reason = access.why_forbidden(outsider, [ADMIN], 'namespaces is forbidden: User "oid-1" cannot list')
    assert ADMIN in reason and "oid-1" in reason and "infra_admin_group_object_ids" in reason
    assert "not a member of the admin group" in reason
    assert "no admin group is set" in access.why_forbidden(outsider, [], "forbidden")
    assert "does not bind that group" in access.why_forbidden(good(), [ADMIN], "forbidden")


def test_exec_plugin_token_and_failures(tmp_path):
    plugin = tmp_path / "plugin.py"
    plugin.write_text("import json, os, sys\n"
                      "if os.environ.get('FAIL'):\n"
                      "    sys.stderr.write('AADSTS7000215: Invalid client secret provided.\\n'); sys.exit(1)\n"
                      "assert json.loads(os.environ['KUBERNETES_EXEC_INFO'])['spec']['interactive'] is False\n"
                      "print(json.dumps({'status': {'token': os.environ['TOKEN']}}))\n")
    conf = {"command": sys.executable, "args": [str(plugin), "--login", "spn"],
            "env": [{"name": "TOKEN", "value": "tok"}]}
    assert access.run_exec_plugin(conf, environ={}) == "tok"
    with pytest.raises(access.AccessError) as err:
        access.run_exec_plugin(conf, environ={"FAIL": "1"})
    assert "AADSTS7000215" in err.value.message and "login=spn" in err.value.message
    assert err.value.details == {"option": "login"}
    with pytest.raises(access.AccessError) as err:
        access.run_exec_plugin({"command": str(tmp_path / "kubelogin"), "args": []}, environ={})
    assert "install kubelogin" in err.value.message


def test_check_access_maps_401_and_403(monkeypatch):
    kubeconfig = {"current-context": "aks",
                  "clusters": [{"name": "aks", "cluster": {"server": "https://aks.example:443"}}],
                  "contexts": [{"name": "aks", "context": {"cluster": "aks", "user": "u"}}],
                  "users": [{"name": "u", "user": {"exec": exec_conf("--authority-host", AUTHORITY)}}]}
    token = jwt(**good(aud="https://management.azure.com"))
    monkeypatch.setattr(access, "run_exec_plugin", lambda conf, environ=None: token)
    monkeypatch.setattr(access, "probe", lambda cluster, tok: (401, "Unauthorized"))
    with pytest.raises(access.AccessError) as err:
        access.check_access(kubeconfig, [ADMIN])
    assert "401 Unauthorized" in err.value.message and "audience is https://management.azure.com" in err.value.message
    assert token not in err.value.message and err.value.details == {"status_code": 401, "option": "login"}

    token = jwt(**good(groups=[]))
    monkeypatch.setattr(access, "probe", lambda cluster, tok: (403, "namespaces is forbidden"))
    with pytest.raises(access.AccessError) as err:
        access.check_access(kubeconfig, [ADMIN])
    assert ADMIN in err.value.message and err.value.details["option"] == "admin_group_object_ids"

    token = jwt(**good())
    monkeypatch.setattr(access, "probe", lambda cluster, tok: (200, "OK"))
    assert access.check_access(kubeconfig, [ADMIN]) == {"object_id": "oid-1", "status_code": 200}
