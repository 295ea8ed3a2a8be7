"""Entra ID (OpenID metadata, the client-credentials token endpoint) and ARM's cloud metadata document."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs


def handle(h, path, raw):
    tenant = h.double.tenant_id
    if path.endswith("/.well-known/openid-configuration") and h.command == "GET":
        if not path.startswith(f"/{tenant}/"):
            return h.reply(400, {"error": "invalid_tenant", "error_description":
                                 "AADSTS90002: Tenant not found (ARM test double)."})
        return h.reply(200, {
            "issuer": f"{h.base}/{tenant}/v2.0",
            "authorization_endpoint": f"{h.base}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{h.base}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{h.base}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
        })
    if path == f"/{tenant}/oauth2/v2.0/token" and h.command == "POST":
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return h.reply(400, {"error": "unsupported_grant_type",
                                 "error_description": "AADSTS70003: only client_credentials is served."})
        if form.get("client_id") != h.double.cfg["client_id"]:
            return h.reply(400, {"error": "unauthorized_client", "error_description":
                                 f"AADSTS700016: Application with identifier '{form.get('client_id')}' was "
                                 f"not found in the directory."})
        ok = False
        if "client_secret" in form:
            ok = secrets.compare_digest(form["client_secret"], h.double.cfg["client_secret"])
            reason = "AADSTS7000215: Invalid client secret provided."
        elif "client_assertion" in form:
            ok = secrets.compare_digest(form["client_assertion"], h.double.cfg["federated_token"])
            reason = "AADSTS700213: No matching federated identity record found for presented assertion."
        else:
            reason = "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required."
        if not ok:
            return h.reply(401, {"error": "invalid_client", "error_description": reason})
        token = secrets.token_urlsafe(32)
        with h.double.lock:
            h.double.tokens[token] = time.time() + 3600
        return h.reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                             "access_token": token})
    return h.reply(404, {"error": "not_found", "error_description": f"{path} is not served."})

# -- cloud metadata ---------------------------------------------------------------------------------------


def metadata(h, query):
    """ARM's unauthenticated cloud discovery document (what `cloud_environment: <url>` clients read).

    api-version 2019-05-01 and later answer a list of clouds; older versions one cloud object."""
    base = h.base.rstrip("/")
    cloud = {
        "name": "ArmTestDouble",
        "resourceManager": base + "/",
        "portal": base + "/portal",
        "gallery": base + "/gallery",
        "graph": base + "/graph/",
        "graphAudience": base + "/graph/",
        "microsoftGraphResourceId": base + "/msgraph/",
        "authentication": {"loginEndpoint": base, "audiences": [base + "/"], "tenant": "common",
                           "identityProvider": "AAD"},
        "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net",
                     "acrLoginServer": "azurecr.io", "sqlServerHostname": "database.windows.net"},
    }
    version = query.get("api-version") or "2015-01-01"
    return h.reply(200, [cloud] if version >= "2019-05-01" else cloud)
