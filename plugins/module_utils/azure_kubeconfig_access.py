# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Prove that a kubeconfig's Entra ID login reaches the cluster, and say why when it does not.

The kubeconfig's kubelogin user is run as kubectl would run it, and its token is sent once to the API server
(GET /api/v1/namespaces?limit=1). The API server only answers 401 Unauthorized or 403 Forbidden; the reason is read
here from the token's claims (audience, issuer, tenant, expiry), decoded without checking the signature and never
returned or logged, and from the admin groups the identity's token does or does not carry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import subprocess
import tempfile
import time

from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url

from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import ModuleError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_kubeconfig_login import _arg

# kubelogin's --environment -> Entra's login host (v2.0 issuers are https://<host>/<tenant>/v2.0)
LOGIN_HOSTS = {
    "AzurePublicCloud": "https://login.microsoftonline.com",
    "AzureUSGovernmentCloud": "https://login.microsoftonline.us",
    "AzureChinaCloud": "https://login.chinacloudapi.cn",
}
# v1.0 issuers (what AKS's server application gets by default): https://<sts host>/<tenant>/
STS_HOSTS = {
    "AzurePublicCloud": "https://sts.windows.net",
    "AzureUSGovernmentCloud": "https://sts.windows.net",
    "AzureChinaCloud": "https://sts.chinacloudapi.cn",
}
PROBE = "/api/v1/namespaces?limit=1"
CLOCK_SKEW_S = 60


class AccessError(ModuleError):
    """The kubeconfig's login does not reach the cluster; the message says why and names the option to fix."""

    def __init__(self, message, status_code=None, option=None):
        details = {}
        if status_code:
            details["status_code"] = status_code
        if option:
            details["option"] = option
        super(AccessError, self).__init__(message, **details)


def token_claims(token):
    """The claims of a JWT (the middle part, base64url JSON), without verifying it; {} when it is no JWT."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def expected_login(exec_conf):
    """What a token for this kubelogin user must carry: audience (--server-id), tenant, accepted issuers."""
    args = list(exec_conf.get("args") or [])
    tenant = _arg(args, "--tenant-id")
    environment = _arg(args, "--environment") or "AzurePublicCloud"
    authority = (_arg(args, "--authority-host") or LOGIN_HOSTS.get(environment, LOGIN_HOSTS["AzurePublicCloud"]))
    issuers = []
    if tenant:
        issuers.append("%s/%s/v2.0" % (authority.rstrip("/"), tenant))
        if not _arg(args, "--authority-host"):
            issuers.append("%s/%s/" % (STS_HOSTS.get(environment, STS_HOSTS["AzurePublicCloud"]), tenant))
    return {"audience": _arg(args, "--server-id"), "tenant": tenant, "issuers": issuers,
            "login": _arg(args, "--login")}


def why_unauthorized(claims, expected, now=None):
    """Why the API server refused (401) a token with these claims, in words; the token itself is never quoted."""
    now = time.time() if now is None else now
    if not claims:
        return ("kubelogin returned a token that is not a JWT, so the API server's Entra ID authenticator cannot "
                "validate it")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if expected.get("audience") and expected["audience"] not in audiences and \
            "api://" + expected["audience"] not in audiences:
        got = ", ".join(str(a) for a in audiences)
        return ("the token's audience is %s, not the cluster's AKS server application %s (--server-id): the identity "
                "asked Entra ID for a token of another resource" % (got, expected["audience"]))
    if expected.get("tenant") and claims.get("tid") and claims["tid"] != expected["tenant"]:
        return ("the token was issued by tenant %s, and the cluster trusts tenant %s: use an identity of that "
                "tenant (tenant / AZURE_TENANT_ID)" % (claims["tid"], expected["tenant"]))
    if expected.get("issuers") and claims.get("iss") not in expected["issuers"]:
        return ("the token's issuer is %s, and the cluster trusts %s: the token comes from another Entra ID "
                "authority or tenant (tenant, cloud_environment, endpoint_override.authority)"
                % (claims.get("iss"), " or ".join(expected["issuers"])))
    if claims.get("exp") is not None and float(claims["exp"]) <= now:
        return ("the token expired %d s ago (exp %s UTC): check the clock of this host and of the identity's "
                "token source (a cached or federated token that is no longer current)"
                % (now - float(claims["exp"]), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(float(claims["exp"])))))
    if claims.get("nbf") is not None and float(claims["nbf"]) > now + CLOCK_SKEW_S:
        return "the token is not valid before %s UTC: this host's clock is behind" % time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.gmtime(float(claims["nbf"])))
    return ("the token's audience, issuer and expiry are what the cluster expects, so the API server refused it for "
            "another reason (its signature or its claim rules): see the API server's authentication configuration")


def why_forbidden(claims, admin_groups, message):
    """Why an authenticated identity is refused (403): the admin groups its token does not carry."""
    identity = claims.get("oid") or claims.get("sub") or "the identity"
    groups = claims.get("groups")
    if not admin_groups:
        return ("the API server authenticated %s and refused it (403 Forbidden: %s); no admin group is set "
                "(admin_group_object_ids, the infra role's infra_admin_group_object_ids): set the Entra ID group "
                "AKS binds to cluster-admin, with this identity as a member" % (identity, message))
    if isinstance(groups, list):
        held = [g for g in admin_groups if g in groups]
        if held:
            return ("the API server authenticated %s, whose token carries the admin group %s, and refused it (403 "
                    "Forbidden: %s): the cluster does not bind that group to cluster-admin (check the cluster's "
                    "aadProfile.adminGroupObjectIDs)" % (identity, ", ".join(held), message))
    return ("the API server authenticated %s and refused it (403 Forbidden: %s): the identity is not a member of the "
            "admin group %s (admin_group_object_ids, the infra role's infra_admin_group_object_ids, bound to "
            "cluster-admin as aadProfile.adminGroupObjectIDs): add it to that group in Entra ID"
            % (identity, message, " or ".join(admin_groups)))


def run_exec_plugin(exec_conf, environ=None, timeout=120):
    """The token of an exec user (client.authentication.k8s.io ExecCredential), as kubectl gets it."""
    env = dict(os.environ if environ is None else environ)
    for item in exec_conf.get("env") or []:
        env[item["name"]] = item["value"]
    command = [exec_conf["command"]] + list(exec_conf.get("args") or [])
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": exec_conf.get("apiVersion"),
                                              "kind": "ExecCredential", "spec": {"interactive": False}})
    try:
        proc = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except OSError as err:
        raise AccessError("the kubeconfig's user runs %s, which cannot be started (%s): install kubelogin "
                          "(https://aka.ms/aks/kubelogin; the collection's execution environment has it) and put it "
                          "on PATH" % (exec_conf["command"], err), option="login") from err
    except subprocess.TimeoutExpired as err:
        raise AccessError("%s get-token did not answer within %d s" % (exec_conf["command"], timeout),
                          option="login") from err
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode(errors="replace").splitlines() if line.strip()]
        raise AccessError("%s could not get a token (login=%s): %s" % (
            exec_conf["command"], _arg(exec_conf.get("args") or [], "--login"),
            " | ".join(lines[-3:]) or "exit status %d" % proc.returncode), option="login")
    try:
        token = json.loads(proc.stdout.decode())["status"]["token"]
    except (ValueError, KeyError, TypeError) as err:
        raise AccessError("%s get-token printed no ExecCredential with a token" % exec_conf["command"],
                          option="login") from err
    return token


def _ca_file(cluster, directory):
    if cluster.get("certificate-authority-data"):
        path = os.path.join(directory, "ca.pem")
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(cluster["certificate-authority-data"]))
        return path
    return cluster.get("certificate-authority")


def probe(cluster, token, timeout=30):
    """The API server's answer to one read with the token: (status, message)."""
    directory = tempfile.mkdtemp(prefix="aks-access-")
    try:
        try:
            resp = open_url(cluster["server"].rstrip("/") + PROBE, method="GET", timeout=timeout,
                            headers={"Authorization": "Bearer " + token, "Accept": "application/json"},
                            ca_path=_ca_file(cluster, directory),
                            validate_certs=not cluster.get("insecure-skip-tls-verify", False))
            return resp.getcode(), "OK"
        except HTTPError as err:
            try:
                message = json.loads(err.read().decode()).get("message") or err.reason
            except (ValueError, AttributeError):
                message = err.reason
            return err.code, message
        except URLError as err:
            raise AccessError("the cluster's API server %s cannot be reached: %s"
                              % (cluster["server"], err.reason)) from err
    finally:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


def check_access(kubeconfig, admin_groups, environ=None):
    """Log in as the kubeconfig's current context's kubelogin user and read from the API server once.

    Returns {"object_id", "status_code"} of the identity that got in; raises AccessError saying why it did not."""
    contexts = {c["name"]: c["context"] for c in kubeconfig.get("contexts") or []}
    context = contexts.get(kubeconfig.get("current-context")) or next(iter(contexts.values()))
    cluster = next(c["cluster"] for c in kubeconfig["clusters"] if c["name"] == context["cluster"])
    exec_conf = next(u["user"] for u in kubeconfig["users"] if u["name"] == context["user"])["exec"]
    token = run_exec_plugin(exec_conf, environ)
    claims = token_claims(token)
    status, message = probe(cluster, token)
    if status == 401:
        raise AccessError("the API server %s refused the token kubelogin got (login=%s; 401 Unauthorized): %s"
                          % (cluster["server"], _arg(exec_conf.get("args") or [], "--login"),
                             why_unauthorized(claims, expected_login(exec_conf))), status_code=401, option="login")
    if status == 403:
        raise AccessError(why_forbidden(claims, list(admin_groups or []), message), status_code=403,
                          option="admin_group_object_ids")
    if status >= 400:
        raise AccessError("the API server %s answered %d (%s) to a read with the kubeconfig's login"
                          % (cluster["server"], status, message), status_code=status)
    return {"object_id": claims.get("oid"), "status_code": status}
