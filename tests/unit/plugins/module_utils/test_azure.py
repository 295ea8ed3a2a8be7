"""Auth argspec, credential choice and the single SDK error mapping."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential, DefaultAzureCredential, WorkloadIdentityCredential

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure


class FakeResponse:
    def __init__(self, status, body):
        self.status_code = status
        self.reason = "Reason"
        self._body = body
        self.headers = {}
        self.request = None

    def json(self):
        return self._body

    def text(self, encoding=None):
        import json
        return json.dumps(self._body)


def http_error(status, code, message, details=None, cls=HttpResponseError):
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return cls(response=FakeResponse(status, body))


def test_argspec_env_fallbacks_and_no_log():
    spec = azure.azure_auth_argument_spec()
    assert spec["secret"]["no_log"] is True and spec["certificate_password"]["no_log"] is True
    assert spec["client_id"]["fallback"][1] == ["AZURE_CLIENT_ID"]
    assert spec["tenant"]["fallback"][1] == ["AZURE_TENANT_ID", "AZURE_TENANT"]
    assert spec["subscription_id"]["fallback"][1] == ["AZURE_SUBSCRIPTION_ID"]
    assert spec["federated_token_file"]["fallback"][1] == ["AZURE_FEDERATED_TOKEN_FILE"]
    assert set(spec["cloud_environment"]["choices"]) == {"AzureCloud", "AzureUSGovernment", "AzureChinaCloud"}


@pytest.mark.parametrize("params, cls", [
    ({"client_id": "c", "tenant": "t", "secret": "s"}, ClientSecretCredential),
    ({"client_id": "c", "tenant": "t", "federated_token_file": "/tmp/token"}, WorkloadIdentityCredential),
    ({}, DefaultAzureCredential),
])
def test_auto_picks_credential(params, cls):
    assert isinstance(azure.azure_credential(dict(auth_source="auto", **params)), cls)


def test_service_principal_names_missing_option():
    with pytest.raises(azure.AzureOpError) as err:
        azure.azure_credential({"auth_source": "service_principal", "tenant": "t"})
    assert err.value.option == "client_id" and "client_id" in str(err.value)
    with pytest.raises(azure.AzureOpError) as err:
        azure.azure_credential({"auth_source": "service_principal", "tenant": "t", "client_id": "c"})
    assert err.value.option == "secret"


def test_cloud_endpoints_and_override():
    assert azure._endpoints({"cloud_environment": "AzureUSGovernment"})["resource_manager"] == \
        "https://management.usgovcloudapi.net"
    ends = azure._endpoints({"cloud_environment": "AzureChinaCloud",
                             "endpoint_override": {"resource_manager": "https://127.0.0.1:1/", "authority": None,
                                                   "ca_bundle": None}})
    assert ends["resource_manager"] == "https://127.0.0.1:1" and ends["authority"] == "https://login.chinacloudapi.cn"


def test_subscription_required_names_option():
    with pytest.raises(azure.AzureOpError) as err:
        azure.AzureClients({}).subscription_id  # pylint: disable=expression-not-assigned
    assert err.value.option == "subscription_id"


def test_error_tree_is_kept_with_nested_details():
    err = azure.to_op_error(http_error(400, "InvalidTemplateDeployment", "not valid",
                                       [{"code": "InvalidTemplate", "message": "bad param", "target": "p"}]), "deploy")
    assert err.code == "InvalidTemplateDeployment" and err.status_code == 400
    assert err.error["details"][0] == {"code": "InvalidTemplate", "message": "bad param", "target": "p"}
    assert "InvalidTemplate: bad param" in str(err)
    assert err.details["error_code"] == "InvalidTemplateDeployment"


def test_not_found_is_none_but_missing_subscription_is_an_error():
    @azure.azure_op("get", missing_ok=True)
    def missing():
        raise http_error(404, "ResourceGroupNotFound", "nope", cls=ResourceNotFoundError)
    assert missing() is None

    @azure.azure_op("get", missing_ok=True)
    def no_subscription():
        raise http_error(404, "SubscriptionNotFound", "The subscription 'x' could not be found.",
                         cls=ResourceNotFoundError)
    with pytest.raises(azure.AzureOpError) as err:
        no_subscription()
    assert err.value.option == "subscription_id" and "subscription_id" in str(err.value)


def test_authentication_failure_points_at_auth_options():
    err = azure.to_op_error(ClientAuthenticationError("Authentication failed: AADSTS7000215: Invalid secret"), "x")
    assert err.option == "auth_source" and "AADSTS7000215" in str(err) and "AZURE_CLIENT_SECRET" in str(err)


def test_awx_injected_variable_names_are_read(monkeypatch):
    """AWX's Azure Resource Manager credential injects AZURE_SECRET and AZURE_TENANT."""
    from ansible.module_utils.basic import env_fallback  # pylint: disable=import-outside-toplevel
    from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import azure_auth_argument_spec

    spec = azure_auth_argument_spec()
    monkeypatch.delenv("AZURE_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("AZURE_TENANT_ID", raising=False)
    monkeypatch.setenv("AZURE_SECRET", "from-awx")
    monkeypatch.setenv("AZURE_TENANT", "tenant-from-awx")
    secret_fallback, secret_names = spec["secret"]["fallback"]
    tenant_fallback, tenant_names = spec["tenant"]["fallback"]
    assert secret_fallback is env_fallback and env_fallback(*secret_names) == "from-awx"
    assert tenant_fallback is env_fallback and env_fallback(*tenant_names) == "tenant-from-awx"
