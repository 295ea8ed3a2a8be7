# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Entra ID login of an AKS user kubeconfig: which kubelogin mode, and the exec user rewritten for it the
way ``kubelogin convert-kubeconfig -l MODE`` rewrites it. No secret and no token is ever written: kubelogin
reads secrets from the environment (AZURE_CLIENT_SECRET, AAD_SERVICE_PRINCIPAL_CLIENT_SECRET, ...) or the
federated token file when it runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import ModuleError

LOGIN_MODES = ["auto", "spn", "workloadidentity", "msi", "azurecli", "devicecode"]

# cloud_environment -> kubelogin's --environment
KUBELOGIN_ENVIRONMENTS = {
    "AzureCloud": "AzurePublicCloud",
    "AzureUSGovernment": "AzureUSGovernmentCloud",
    "AzureChinaCloud": "AzureChinaCloud",
}

UNATTENDED_MODES = "spn, workloadidentity, msi or azurecli"


class LoginError(ModuleError):
    """The login option cannot be applied; the message names the option and the fix."""

    def __init__(self, message, option="login"):
        super(LoginError, self).__init__(message, option=option)


def has_terminal():
    """True when a controlling terminal is attached (where a person could answer a device-code prompt)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    return True


def resolve_login(params, environ=None):
    """The kubelogin mode for params: ``login`` itself, or for ``auto`` the one matching ``auth_source``."""
    login = params.get("login") or "auto"
    if login != "auto":
        return login
    environ = os.environ if environ is None else environ
    source = params.get("auth_source") or "auto"
    direct = {"service_principal": "spn", "workload_identity": "workloadidentity", "msi": "msi", "cli": "azurecli"}
    if source in direct:
        return direct[source]
    if params.get("client_id") and (params.get("secret") or params.get("certificate_path")):
        return "spn"
    if params.get("federated_token_file") or environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workloadidentity"
    if source == "env" or (environ.get("AZURE_CLIENT_ID") and (
            environ.get("AZURE_CLIENT_SECRET") or environ.get("AZURE_CLIENT_CERTIFICATE_PATH"))):
        return "spn"
    if environ.get("IDENTITY_ENDPOINT") or environ.get("MSI_ENDPOINT"):
        return "msi"
    return "azurecli"


def is_kubelogin_user(user):
    exec_conf = (user or {}).get("exec") or {}
    return os.path.basename(str(exec_conf.get("command") or "")) in ("kubelogin", "kubelogin.exe")


def _arg(args, name):
    """The value after ``name`` in an argument list (``--name value`` or ``--name=value``), or None."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def kubelogin_args(mode, original_args, params):
    """``kubelogin get-token`` arguments for mode, as convert-kubeconfig builds them (no secret among them)."""
    server_id = _arg(original_args, "--server-id")
    if not server_id:
        raise LoginError("the cluster's kubeconfig runs kubelogin without --server-id, so no login can be applied; "
                         "set login=devicecode to keep it as returned", option="login")
    tenant = params.get("tenant") or _arg(original_args, "--tenant-id")
    environment = _arg(original_args, "--environment") or KUBELOGIN_ENVIRONMENTS.get(
        params.get("cloud_environment") or "AzureCloud")
    client_id = params.get("client_id")
    args = ["get-token", "--login", mode, "--server-id", server_id]
    if mode == "spn":
        if not client_id or not tenant:
            raise LoginError("login=spn needs client_id and tenant (or AZURE_CLIENT_ID and AZURE_TENANT_ID): the "
                             "service principal's secret or certificate is read by kubelogin from "
                             "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH when it runs",
                             option="client_id" if not client_id else "tenant")
        args += ["--client-id", client_id, "--tenant-id", tenant]
        if environment:
            args += ["--environment", environment]
        if params.get("certificate_path"):
            args += ["--client-certificate", params["certificate_path"]]
    elif mode == "workloadidentity":
        if client_id:
            args += ["--client-id", client_id]
        if params.get("tenant"):
            args += ["--tenant-id", params["tenant"]]
        if params.get("federated_token_file"):
            args += ["--federated-token-file", params["federated_token_file"]]
    elif mode == "msi":
        if client_id:
            args += ["--client-id", client_id]
    elif mode == "azurecli":
        if params.get("tenant"):
            args += ["--tenant-id", params["tenant"]]
    elif mode == "devicecode":
        return list(original_args)
    authority = ((params.get("endpoint_override") or {}).get("authority") or "").rstrip("/")
    if authority and mode in ("spn", "workloadidentity"):
        # A private authority (tests): kubelogin's Entra host, without Entra's instance discovery.
        args += ["--authority-host", authority + "/", "--disable-instance-discovery"]
    return args


def apply_login(kubeconfig, params, terminal=None, environ=None):
    """The kubeconfig (a dict) with every kubelogin user converted for the resolved mode, and that mode.

    Returns (kubeconfig, mode); mode is None when no user runs kubelogin (client certificates, admin
    credentials): such a kubeconfig is returned unchanged."""
    users = [u for u in kubeconfig.get("users") or [] if is_kubelogin_user(u.get("user"))]
    if not users:
        return kubeconfig, None
    mode = resolve_login(params, environ)
    if mode == "devicecode":
        if not (has_terminal() if terminal is None else terminal):
            raise LoginError("login=devicecode asks a person to sign in at a device-code prompt, and no terminal is "
                             "attached (an unattended run such as AWX would wait forever): set login to one of "
                             "%s, or to auto to derive it from auth_source" % UNATTENDED_MODES)
        return kubeconfig, mode
    converted = copy.deepcopy(kubeconfig)
    ca_bundle = (params.get("endpoint_override") or {}).get("ca_bundle")
    for entry in converted["users"]:
        exec_conf = entry.get("user", {}).get("exec")
        if not is_kubelogin_user(entry.get("user")):
            continue
        new_exec = {
            "apiVersion": exec_conf.get("apiVersion") or "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": kubelogin_args(mode, list(exec_conf.get("args") or []), params),
            "env": [{"name": "SSL_CERT_FILE", "value": ca_bundle}] if ca_bundle else None,
            "provideClusterInfo": False,
            "interactiveMode": "Never",
        }
        if exec_conf.get("installHint"):
            new_exec["installHint"] = exec_conf["installHint"]
        entry["user"] = {"exec": new_exec}
    return converted, mode
