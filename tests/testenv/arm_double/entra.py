"""Entra ID (OpenID metadata, signing keys, the client-credentials token endpoint) and ARM's cloud metadata
document.

Access tokens are RS256 JWTs signed with the key in the config's signing_key (published at jwks_uri), with the
claims AKS relies on: iss (per tenant), aud (the resource of the requested scope: the AKS server application
for kubelogin, ARM for the SDKs), oid, groups, tid, azp and a short exp. Clients: the config's service
principal (secret or federated token; member of the admin group) and any registered through the control API
(POST /_testenv/entra/clients: a secret, a federated token, or a certificate whose key signs a client assertion
as Entra's certificate credentials do; an optional aks_token {audience, issuer, lifetime_s} makes the token
endpoint hand that client tokens for the AKS server application that the API server must refuse: another audience,
another issuer, an expired one), which also mints tokens directly (POST
/_testenv/entra/tokens: another issuer, an expired one) and turns on AKS's exec kubeconfigs per resource group
(POST /_testenv/entra/exec-kubeconfig; the config's exec_kubeconfig_resource_groups are on from the start).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs

DEFAULT_LIFETIME_S = 3599
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"  # the audience of the tokens kubelogin asks for


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """The double's token-signing key (RSA, RS256) and its JWKS."""

    def __init__(self, key_file: str):
        from cryptography.hazmat.primitives import serialization  # the venv's; imported when tokens are issued
        self.key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
        public = self.key.public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64url(hashlib.sha256(der).digest()[:20])
        numbers = public.public_numbers()
        self.jwks = {"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "x5t": self.kid,
            "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }]}

    def sign(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


def state(double) -> dict:
    """The Entra part of the double's state (made on first use): signer, clients, exec-kubeconfig groups."""
    with double.lock:
        if not hasattr(double, "entra"):
            cfg = double.cfg
            double.entra = {
                "signer": Signer(cfg["signing_key"]) if cfg.get("signing_key") else None,
                "clients": {cfg["client_id"]: {
                    "client_id": cfg["client_id"], "secret": cfg["client_secret"],
                    "federated_token": cfg["federated_token"],
                    "object_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "sp:" + cfg["client_id"])),
                    "groups": [cfg["admin_group_id"]] if cfg.get("admin_group_id") else [],
                    "token_lifetime_s": DEFAULT_LIFETIME_S}},
                "exec_kubeconfig_resource_groups": {g.lower() for g in cfg.get("exec_kubeconfig_resource_groups")
                                                    or []},
            }
        return double.entra


def issuer(h) -> str:
    return f"{h.base}/{h.double.tenant_id}/v2.0"


def mint(h, client: dict, audience: str, lifetime_s: int | None = None, iss: str | None = None) -> tuple:
    """A signed access token for client and audience; registered so ARM accepts it until it expires."""
    now = int(time.time())
    lifetime = int(client["token_lifetime_s"] if lifetime_s is None else lifetime_s)
    claims = {"aud": audience, "iss": iss or issuer(h), "iat": now, "nbf": min(now, now + lifetime),
              "exp": now + lifetime, "azp": client["client_id"], "appid": client["client_id"], "idtyp": "app",
              "oid": client["object_id"], "sub": client["object_id"], "tid": h.double.tenant_id,
              "groups": list(client["groups"]), "ver": "2.0", "uti": secrets.token_urlsafe(16)}
    signer = state(h.double)["signer"]
    token = signer.sign(claims) if signer else secrets.token_urlsafe(32)
    with h.double.lock:
        h.double.tokens[token] = now + lifetime
    return token, lifetime


def _audience(scope: str) -> str:
    """The resource of a v2 scope (`<resource>/.default`), as Entra puts it in aud."""
    first = (scope or "").split()[0] if scope else ""
    return first[:-len("/.default")] if first.endswith("/.default") else first


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def certificate_assertion_error(h, client: dict, assertion: str) -> str | None:
    """Why a certificate credential's client assertion is refused (None when accepted), as Entra checks it: a JWT
    signed (RS256 or PS256) by the key of the client's registered certificate, named by its thumbprint (x5t: SHA-1,
    x5t#S256: SHA-256), with iss = sub = the client id, aud = the token endpoint, and a current exp/nbf."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    cert = x509.load_pem_x509_certificate(client["certificate"].encode())
    try:
        header_b64, claims_b64, signature_b64 = assertion.split(".")
        header = json.loads(_b64url_decode(header_b64))
        claims = json.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(signature_b64)
    except ValueError:
        return "AADSTS50027: JWT token is invalid or malformed."
    # The certificate is named by its SHA-1 thumbprint (x5t) or its SHA-256 one (x5t#S256), base64 (MSAL Go) or
    # base64url (RFC 7515) encoded.
    thumbprints = {"x5t": cert.fingerprint(hashes.SHA1()), "x5t#S256": cert.fingerprint(hashes.SHA256())}

    def named(value) -> bytes:
        text = str(value or "").replace("+", "-").replace("/", "_").rstrip("=")
        try:
            return _b64url_decode(text)
        except ValueError:
            return b""
    if not any(named(header.get(k)) == v for k, v in thumbprints.items()):
        return (f"AADSTS700027: The certificate with identifier used to sign the client assertion is not "
                f"registered on application {client['client_id']}.")
    schemes = {"RS256": padding.PKCS1v15(),
               "PS256": padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)}
    if header.get("alg") not in schemes:
        return f"AADSTS5002727: Invalid JWT header type {header.get('alg')!r}."
    try:
        cert.public_key().verify(signature, f"{header_b64}.{claims_b64}".encode(), schemes[header["alg"]],
                                 hashes.SHA256())
    except InvalidSignature:
        return "AADSTS700027: Client assertion contains an invalid signature."
    if claims.get("iss") != client["client_id"] or claims.get("sub") != client["client_id"]:
        return "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter."
    endpoint = f"{h.base}/{h.double.tenant_id}/oauth2/v2.0/token"
    if str(claims.get("aud", "")).rstrip("/") != endpoint:
        return f"AADSTS700016: The audience {claims.get('aud')!r} of the client assertion is not {endpoint}."
    now = time.time()
    if not float(claims.get("nbf", 0)) - 300 <= now < float(claims.get("exp", 0)) + 300:
        return "AADSTS700024: Client assertion is not within its valid time range."
    return None


def handle(h, path, raw):
    tenant = h.double.tenant_id
    if path.endswith("/.well-known/openid-configuration") and h.command == "GET":
        if not path.startswith(f"/{tenant}/"):
            return h.reply(400, {"error": "invalid_tenant", "error_description":
                                 "AADSTS90002: Tenant not found (ARM test double)."})
        return h.reply(200, {
            "issuer": issuer(h),
            "authorization_endpoint": f"{h.base}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{h.base}/{tenant}/oauth2/v2.0/token",
            "jwks_uri": f"{h.base}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "tenant_region_scope": "EU",
        })
    if path == f"/{tenant}/discovery/v2.0/keys" and h.command == "GET":
        signer = state(h.double)["signer"]
        return h.reply(200, signer.jwks if signer else {"keys": []})
    if path == f"/{tenant}/oauth2/v2.0/token" and h.command == "POST":
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return h.reply(400, {"error": "unsupported_grant_type",
                                 "error_description": "AADSTS70003: only client_credentials is served."})
        client = state(h.double)["clients"].get(form.get("client_id"))
        if client is None:
            return h.reply(400, {"error": "unauthorized_client", "error_description":
                                 f"AADSTS700016: Application with identifier '{form.get('client_id')}' was "
                                 f"not found in the directory."})
        ok = False
        if "client_secret" in form:
            ok = bool(client.get("secret")) and secrets.compare_digest(form["client_secret"], client["secret"])
            reason = "AADSTS7000215: Invalid client secret provided."
        elif "client_assertion" in form and client.get("certificate"):
            reason = certificate_assertion_error(h, client, form["client_assertion"])
            ok = reason is None
        elif "client_assertion" in form:
            ok = bool(client.get("federated_token")) and secrets.compare_digest(form["client_assertion"],
                                                                                client["federated_token"])
            reason = "AADSTS700213: No matching federated identity record found for presented assertion."
        else:
            reason = "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required."
        if not ok:
            return h.reply(401, {"error": "invalid_client", "error_description": reason})
        audience = _audience(form.get("scope", ""))
        bad = (client.get("aks_token") or {}) if audience == AKS_SERVER_APP_ID else {}
        token, lifetime = mint(h, client, bad.get("audience") or audience, bad.get("lifetime_s"), bad.get("issuer"))
        # An expired token still comes with a usable expires_in (as from an issuer whose clock is ahead): the
        # client uses it, and the API server is the one that refuses it.
        lifetime = lifetime if lifetime > 0 else 60
        with h.double.lock:  # tokens issued per audience: a run's cost in token requests
            key = f"Entra_tokens_issued:{audience}"
            h.double.counters[key] = h.double.counters.get(key, 0) + 1
        return h.reply(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                             "access_token": token})
    return h.reply(404, {"error": "not_found", "error_description": f"{path} is not served."})


# -- control API (under /_testenv/entra, routed by control.py) --------------------------------------------------


def control(h, path, body):
    """Register a client, mint a token directly, or turn on exec kubeconfigs for resource groups."""
    entra = state(h.double)
    if path == "/_testenv/entra/clients" and h.command == "POST":
        client = {"client_id": body.get("client_id") or str(uuid.uuid4()), "secret": body.get("secret"),
                  "federated_token": body.get("federated_token"), "certificate": body.get("certificate"),
                  "groups": list(body.get("groups") or []),
                  "token_lifetime_s": int(body.get("token_lifetime_s") or DEFAULT_LIFETIME_S),
                  "aks_token": body.get("aks_token")}
        client["object_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "sp:" + client["client_id"]))
        with h.double.lock:
            entra["clients"][client["client_id"]] = client
        return h.reply(201, {k: v for k, v in client.items()
                             if k not in ("secret", "federated_token", "certificate")})
    if path == "/_testenv/entra/tokens" and h.command == "POST":
        client = entra["clients"].get(body.get("client_id") or h.double.cfg["client_id"])
        if client is None:
            return h.reply(400, {"error": f"unknown client_id {body.get('client_id')}"})
        token, lifetime = mint(h, client, body.get("audience") or "", body.get("lifetime_s"), body.get("issuer"))
        return h.reply(200, {"access_token": token, "expires_in": lifetime})
    if path == "/_testenv/entra/exec-kubeconfig" and h.command == "POST":
        with h.double.lock:
            groups = entra["exec_kubeconfig_resource_groups"]
            groups.update(g.lower() for g in body.get("add") or [])
            groups.difference_update(g.lower() for g in body.get("remove") or [])
            return h.reply(200, {"resource_groups": sorted(groups)})
    return h.reply(404, {"error": f"unknown control endpoint {h.command} {path}"})


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
