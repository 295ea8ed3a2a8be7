# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Azure plumbing shared by the collection's modules.

- ``azure_auth_argument_spec()``: the one auth argspec (documented by the ``neo4j_azure.aks.azure`` fragment).
- ``azure_credential(params)``: an azure-identity credential chosen from the module params.
- ``AzureClients(params)``: SDK clients, built lazily, with azure-core's retry policy configured.
- ``AzureOpError`` / ``azure_op``: every SDK error becomes one domain error (ARM code, message, nested
  details) in one place; "not found" becomes ``None`` where the caller asks for it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import ModuleError

AZURE_IMPORT_ERROR = None
try:
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )
    from azure.identity import (
        AzureCliCredential,
        CertificateCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        EnvironmentCredential,
        ManagedIdentityCredential,
        WorkloadIdentityCredential,
    )
    from azure.identity import CredentialUnavailableError
except ImportError:  # pragma: no cover - reported by check_azure_requirements()
    AZURE_IMPORT_ERROR = traceback.format_exc()
    AzureError = ClientAuthenticationError = HttpResponseError = Exception
    ResourceNotFoundError = ServiceRequestError = CredentialUnavailableError = Exception


# Entra ID authority host and Resource Manager endpoint of each sovereign cloud.
AZURE_CLOUDS = {
    "AzureCloud": {
        "authority": "https://login.microsoftonline.com",
        "resource_manager": "https://management.azure.com",
    },
    "AzureUSGovernment": {
        "authority": "https://login.microsoftonline.us",
        "resource_manager": "https://management.usgovcloudapi.net",
    },
    "AzureChinaCloud": {
        "authority": "https://login.chinacloudapi.cn",
        "resource_manager": "https://management.chinacloudapi.cn",
    },
}

AUTH_SOURCES = ["auto", "service_principal", "workload_identity", "msi", "cli", "env"]

# Retries are azure-core's RetryPolicy: it honours Retry-After (429/503) and retries 408/429/5xx with
# exponential backoff. These bound it so a broken endpoint fails within minutes, not hours.
RETRY_SETTINGS = {
    "retry_total": 6,
    "retry_backoff_factor": 0.8,
    "retry_backoff_max": 60,
}

# ARM answers 404 for these codes although the *requested* resource is not what is missing.
_NOT_FOUND_BUT_ERROR = {"SubscriptionNotFound", "InvalidSubscriptionId", "TenantNotFound"}


def azure_auth_argument_spec():
    """The auth options every Azure module accepts (doc fragment ``neo4j_azure.aks.azure``)."""
    return dict(
        auth_source=dict(type="str", default="auto", choices=AUTH_SOURCES),
        client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
        secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_CLIENT_SECRET", "AZURE_SECRET"])),
        tenant=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT_ID", "AZURE_TENANT"])),
        subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
        certificate_path=dict(type="path", fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])),
        certificate_password=dict(type="str", no_log=True,
                                  fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])),
        federated_token_file=dict(type="path", fallback=(env_fallback, ["AZURE_FEDERATED_TOKEN_FILE"])),
        cloud_environment=dict(type="str", default="AzureCloud", choices=sorted(AZURE_CLOUDS)),
        endpoint_override=dict(
            type="dict",
            options=dict(
                resource_manager=dict(type="str"),
                authority=dict(type="str"),
                ca_bundle=dict(type="path"),
            ),
        ),
    )


class AzureOpError(ModuleError):
    """An Azure operation failed. ``details`` is what modules pass to fail_json (never secrets)."""

    def __init__(self, message, code=None, status_code=None, error=None, option=None, **extra):
        super(AzureOpError, self).__init__(message)
        self.code = code
        self.status_code = status_code
        self.error = error  # the ARM error tree: {code, message, target?, details: [...]}
        self.option = option  # the module option at fault, when one is
        self.extra = extra  # more result keys (correlation_id, provisioning_state, ...)

    @property
    def details(self):
        out = dict(self.extra)
        if self.code:
            out["error_code"] = self.code
        if self.status_code:
            out["status_code"] = self.status_code
        if self.error:
            out["error"] = self.error
        if self.option:
            out["option"] = self.option
        return out


def _error_tree(odata):
    """An azure-core ODataV4Format (or a plain dict) as a plain {code, message, target, details} tree."""
    if odata is None:
        return None
    if isinstance(odata, dict):
        tree = {k: odata[k] for k in ("code", "message", "target") if odata.get(k)}
        details = odata.get("details") or []
        if isinstance(odata.get("error"), dict) and not tree:
            return _error_tree(odata["error"])
    else:
        tree = {k: getattr(odata, k, None) for k in ("code", "message", "target") if getattr(odata, k, None)}
        details = getattr(odata, "details", None) or []
    if details:
        tree["details"] = [_error_tree(d) for d in details]
    return tree


def flatten_error(tree, indent=0):
    """The error tree as readable lines: 'code: message' nested by indentation."""
    if not tree:
        return []
    lines = ["%s%s: %s" % ("  " * indent, tree.get("code", "Error"), tree.get("message", ""))]
    for child in tree.get("details") or []:
        lines.extend(flatten_error(child, indent + 1))
    return lines


def to_op_error(err, action):
    """Map any SDK exception to AzureOpError. The single place where SDK errors are translated."""
    if isinstance(err, AzureOpError):
        return err
    if isinstance(err, (CredentialUnavailableError, ClientAuthenticationError)):
        tree = _error_tree(getattr(err, "error", None))
        msg = (tree or {}).get("message") or getattr(err, "message", None) or str(err)
        return AzureOpError(
            "%s: Azure authentication failed: %s. Set client_id, secret and tenant (or AZURE_CLIENT_ID, "
            "AZURE_CLIENT_SECRET, AZURE_TENANT_ID), or choose another auth_source."
            % (action, (msg.strip().splitlines()[0].rstrip(".") if msg.strip() else type(err).__name__)),
            code=(tree or {}).get("code") or "AuthenticationFailed",
            status_code=getattr(err, "status_code", None), error=tree, option="auth_source")
    if isinstance(err, HttpResponseError):
        tree = _error_tree(getattr(err, "error", None))
        if not tree and err.response is not None:
            try:
                tree = _error_tree(err.response.json())
            except Exception:  # pylint: disable=broad-except  # body is not JSON: keep the reason
                tree = None
        code = (tree or {}).get("code") or getattr(err, "reason", None)
        message = (tree or {}).get("message") or getattr(err, "message", None) or str(err)
        option = "subscription_id" if code in _NOT_FOUND_BUT_ERROR else None
        text = "%s failed (HTTP %s) %s: %s" % (action, err.status_code, code, message)
        nested = flatten_error(tree)[1:]
        if nested:
            text += "\n" + "\n".join(nested)
        if option:
            text += " (check the subscription_id option / AZURE_SUBSCRIPTION_ID)"
        return AzureOpError(text, code=code, status_code=err.status_code, error=tree, option=option)
    if isinstance(err, ServiceRequestError):
        return AzureOpError("%s: cannot reach Azure: %s" % (action, err), code="ServiceRequestError")
    if isinstance(err, AzureError):
        return AzureOpError("%s: %s" % (action, err), code=type(err).__name__)
    raise err


def is_not_found(err):
    """True when err means the requested resource does not exist (not a missing subscription)."""
    if isinstance(err, ResourceNotFoundError) or getattr(err, "status_code", None) == 404:
        tree = _error_tree(getattr(err, "error", None)) or {}
        return tree.get("code") not in _NOT_FOUND_BUT_ERROR
    return False


def azure_op(action, missing_ok=False):
    """Decorator: run an SDK call, map its errors; with missing_ok, a 404 returns None."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except AzureOpError:
                raise
            except (AzureError, CredentialUnavailableError) as err:
                if missing_ok and is_not_found(err):
                    return None
                raise to_op_error(err, action)
        return wrapper

    return decorate


def check_azure_requirements(module):
    """Fail the module when the Azure SDKs are missing."""
    if AZURE_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("azure-identity and azure-mgmt-*"), exception=AZURE_IMPORT_ERROR)


def _endpoints(params):
    cloud = AZURE_CLOUDS[params.get("cloud_environment") or "AzureCloud"]
    override = params.get("endpoint_override") or {}
    return {
        "authority": (override.get("authority") or cloud["authority"]).rstrip("/"),
        "resource_manager": (override.get("resource_manager") or cloud["resource_manager"]).rstrip("/"),
        "ca_bundle": override.get("ca_bundle"),
        "overridden_authority": bool(override.get("authority")),
    }


def _transport_kwargs(params):
    endpoints = _endpoints(params)
    kwargs = dict(RETRY_SETTINGS)
    if endpoints["ca_bundle"]:
        kwargs["connection_verify"] = endpoints["ca_bundle"]
    return kwargs


def _require(params, source, *names):
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise AzureOpError(
            "auth_source=%s needs the option(s) %s (or their AZURE_* environment variables)"
            % (source, ", ".join(missing)), code="MissingCredentials", option=missing[0])


def azure_credential(params):
    """An azure-identity credential for the module params (see the auth_source option)."""
    if AZURE_IMPORT_ERROR:
        raise AzureOpError("the Azure SDK is not installed (pip install -r requirements.txt)")
    source = params.get("auth_source") or "auto"
    endpoints = _endpoints(params)
    common = dict(_transport_kwargs(params), authority=endpoints["authority"])
    if endpoints["overridden_authority"]:
        # A private authority (tests) has no entry in Entra ID's instance discovery.
        common["disable_instance_discovery"] = True
    client_id, tenant = params.get("client_id"), params.get("tenant")

    if source == "auto":
        if client_id and tenant and params.get("secret"):
            source = "service_principal"
        elif client_id and tenant and params.get("certificate_path"):
            source = "service_principal"
        elif client_id and tenant and params.get("federated_token_file"):
            source = "workload_identity"
        else:
            chain = dict(_transport_kwargs(params), authority=endpoints["authority"])
            if client_id:
                chain.update(managed_identity_client_id=client_id, workload_identity_client_id=client_id)
            if tenant:
                chain["workload_identity_tenant_id"] = tenant
            return DefaultAzureCredential(**chain)

    if source == "service_principal":
        _require(params, source, "client_id", "tenant")
        if params.get("secret"):
            return ClientSecretCredential(tenant, client_id, params["secret"], **common)
        if params.get("certificate_path"):
            return CertificateCredential(tenant, client_id, certificate_path=params["certificate_path"],
                                         password=params.get("certificate_password"), **common)
        raise AzureOpError("auth_source=service_principal needs secret or certificate_path",
                           code="MissingCredentials", option="secret")
    if source == "workload_identity":
        _require(params, source, "client_id", "tenant", "federated_token_file")
        return WorkloadIdentityCredential(tenant_id=tenant, client_id=client_id,
                                          token_file_path=params["federated_token_file"], **common)
    if source == "msi":
        kwargs = _transport_kwargs(params)
        if client_id:
            kwargs["client_id"] = client_id
        return ManagedIdentityCredential(**kwargs)
    if source == "cli":
        return AzureCliCredential(tenant_id=tenant) if tenant else AzureCliCredential()
    # source == "env": the AZURE_* variables as azure-identity's EnvironmentCredential reads them.
    return EnvironmentCredential(**common)


class AzureClients:
    """Lazily built SDK clients sharing one credential, endpoint and retry policy."""

    def __init__(self, params):
        self.params = params
        self._credential = None
        self._clients = {}

    @property
    def subscription_id(self):
        sub = self.params.get("subscription_id")
        if not sub:
            raise AzureOpError("subscription_id is required (or set AZURE_SUBSCRIPTION_ID)",
                               code="MissingSubscription", option="subscription_id")
        return sub

    @property
    def credential(self):
        if self._credential is None:
            self._credential = azure_credential(self.params)
        return self._credential

    def _client_kwargs(self):
        endpoints = _endpoints(self.params)
        return dict(_transport_kwargs(self.params), base_url=endpoints["resource_manager"],
                    credential_scopes=[endpoints["resource_manager"] + "/.default"])

    def _build(self, name, factory):
        if name not in self._clients:
            self._clients[name] = factory()
        return self._clients[name]

    @property
    def resources(self):
        """azure-mgmt-resource: resource groups."""
        def factory():
            from azure.mgmt.resource.resources import ResourceManagementClient
            return ResourceManagementClient(self.credential, self.subscription_id, **self._client_kwargs())
        return self._build("resources", factory)

    @property
    def deployments(self):
        """azure-mgmt-resource-deployments: deployments, what-if, validate."""
        def factory():
            from azure.mgmt.resource.deployments import DeploymentsMgmtClient
            return DeploymentsMgmtClient(self.credential, self.subscription_id, **self._client_kwargs())
        return self._build("deployments", factory)

    @property
    def containerservice(self):
        """azure-mgmt-containerservice: managed clusters."""
        def factory():
            from azure.mgmt.containerservice import ContainerServiceClient
            return ContainerServiceClient(self.credential, self.subscription_id, **self._client_kwargs())
        return self._build("containerservice", factory)
