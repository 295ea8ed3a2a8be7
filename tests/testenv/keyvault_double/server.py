"""The Key Vault test double: the data plane of Azure Key Vault secrets over HTTPS (standard library + PyJWT).

Why a double: no Key Vault emulator is served by a registry these machines reach. Lowkey Vault publishes only
its client and Testcontainers module on Maven Central (com.github.nagyesta.lowkey-vault:lowkey-vault-app is not
served; the app ships as a Docker image and a GitHub release jar); the Go and .NET emulators are not on the Go
module proxy or not reachable (NuGet). So this double implements the documented REST shapes of
https://learn.microsoft.com/rest/api/keyvault/secrets (api-version 7.x / 2025-07-01), driven by the real
azure-keyvault-secrets client:

    PUT    /secrets/{name}                 SetSecret         -> SecretBundle (new version)
    GET    /secrets/{name}[/{version}]     GetSecret         -> SecretBundle; 404 SecretNotFound
    PATCH  /secrets/{name}/{version}       UpdateSecret      -> SecretBundle without value
    GET    /secrets/{name}/versions        GetSecretVersions -> {value: [SecretItem], nextLink}
    GET    /secrets                        GetSecrets
    DELETE /secrets/{name}                 DeleteSecret      -> DeletedSecretBundle (soft delete)
    GET    /deletedsecrets/{name}          GetDeletedSecret
    DELETE /deletedsecrets/{name}          PurgeDeletedSecret -> 204
    POST   /deletedsecrets/{name}/recover  RecoverDeletedSecret

One vault per port (the SDK parses secret ids as https://{vault}/secrets/{name}/{version}, so a vault cannot be
a path prefix). Like Key Vault, an unauthenticated request gets 401 with the Entra challenge (authorization =
the ARM double's authority + tenant, resource = the vault's origin); a bearer token is checked against the
authority that issued it (its JWKS when it issues signed JWTs, else one probe of the ARM double with the
token), and the caller must be in the vault's `allowed` list, else 403 Forbidden/ForbiddenByRbac naming the
caller and the vault, as Key Vault's RBAC answers.

    server.py --config CONFIG.json      (written by tests/testenv/components/keyvault.py)
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
RECOVERABLE_DAYS = 90


class VaultError(Exception):
    def __init__(self, status: int, code: str, message: str, inner: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.inner, self.headers = status, code, message, inner, headers or {}

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.inner:
            err["innererror"] = {"code": self.inner}
        return {"error": err}


class Vault:
    """One vault's secrets: name -> list of versions (oldest first), and its soft-deleted secrets."""

    def __init__(self, name: str, url: str, allowed: list):
        self.name, self.url, self.allowed = name, url.rstrip("/"), set(allowed)
        self.secrets: dict = {}
        self.deleted: dict = {}
        self.lock = threading.Lock()

    # -- shapes ---------------------------------------------------------------------------------------------
    def _attributes(self, ver: dict) -> dict:
        attrs = {"enabled": ver["enabled"], "created": ver["created"], "updated": ver["updated"],
                 "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": RECOVERABLE_DAYS}
        for key in ("nbf", "exp"):
            if ver.get(key) is not None:
                attrs[key] = ver[key]
        return attrs

    def bundle(self, name: str, ver: dict, with_value: bool = True) -> dict:
        out = {"id": f"{self.url}/secrets/{name}/{ver['version']}", "attributes": self._attributes(ver)}
        if with_value:
            out["value"] = ver["value"]
        if ver.get("contentType") is not None:
            out["contentType"] = ver["contentType"]
        if ver.get("tags"):
            out["tags"] = ver["tags"]
        return out

    def item(self, name: str, ver: dict, versioned: bool = True) -> dict:
        out = self.bundle(name, ver, with_value=False)
        if not versioned:
            out["id"] = f"{self.url}/secrets/{name}"
        return out

    def deleted_bundle(self, name: str, entry: dict) -> dict:
        out = self.bundle(name, entry["versions"][-1])
        out.pop("value", None)
        out.update(recoveryId=f"{self.url}/deletedsecrets/{name}", deletedDate=entry["deleted"],
                   scheduledPurgeDate=entry["deleted"] + RECOVERABLE_DAYS * 86400)
        return out

    # -- operations -----------------------------------------------------------------------------------------
    def _versions(self, name: str) -> list:
        if name in self.deleted and name not in self.secrets:
            raise VaultError(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key "
                                                    f"vault. Secret {name} is currently in a deleted but "
                                                    f"recoverable state.")
        versions = self.secrets.get(name)
        if not versions:
            raise VaultError(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key "
                                                    f"vault. If you recently deleted this secret you may be able "
                                                    f"to recover it using the correct recovery command. For help "
                                                    f"resolving this issue, please see "
                                                    f"https://go.microsoft.com/fwlink/?linkid=2125182")
        return versions

    def _version(self, name: str, version: str) -> dict:
        versions = self._versions(name)
        if not version:
            return versions[-1]
        for ver in versions:
            if ver["version"] == version:
                return ver
        raise VaultError(404, "SecretNotFound", f"A secret with (name/id) {name}/{version} was not found in this "
                                                f"key vault.")

    def set_secret(self, name: str, body: dict) -> dict:
        if not NAME.match(name):
            raise VaultError(400, "BadParameter", "The request URI contains an invalid name: " + name)
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            raise VaultError(400, "BadParameter", "Property 'value' is required and must be a string.")
        if name in self.deleted:
            raise VaultError(409, "Conflict", f"Secret {name} is currently in a deleted but recoverable state, "
                                              f"and its name cannot be reused; in this state, the secret can "
                                              f"only be recovered or purged.", inner="ObjectIsDeletedButRecoverable")
        attrs = body.get("attributes") or {}
        now = int(time.time())
        ver = {"version": uuid.uuid4().hex, "value": body["value"], "contentType": body.get("contentType"),
               "tags": body.get("tags") or None, "enabled": attrs.get("enabled", True), "nbf": attrs.get("nbf"),
               "exp": attrs.get("exp"), "created": now, "updated": now}
        self.secrets.setdefault(name, []).append(ver)
        return self.bundle(name, ver)

    def get_secret(self, name: str, version: str) -> dict:
        ver = self._version(name, version)
        if not ver["enabled"]:
            raise VaultError(403, "Forbidden", "Operation get is not allowed on a disabled secret.",
                             inner="SecretDisabled")
        return self.bundle(name, ver)

    def update_secret(self, name: str, version: str, body: dict) -> dict:
        ver = self._version(name, version)
        attrs = (body or {}).get("attributes") or {}
        for key in ("enabled", "nbf", "exp"):
            if key in attrs:
                ver[key] = attrs[key]
        if "contentType" in (body or {}):
            ver["contentType"] = body["contentType"]
        if "tags" in (body or {}):
            ver["tags"] = body["tags"] or None
        ver["updated"] = int(time.time())
        return self.bundle(name, ver, with_value=False)

    def list_versions(self, name: str) -> dict:
        return {"value": [self.item(name, ver) for ver in self._versions(name)], "nextLink": None}

    def list_secrets(self) -> dict:
        return {"value": [self.item(name, vers[-1], versioned=False) for name, vers in sorted(self.secrets.items())],
                "nextLink": None}

    def delete_secret(self, name: str) -> dict:
        versions = self._versions(name)
        entry = {"versions": versions, "deleted": int(time.time())}
        self.deleted[name] = entry
        del self.secrets[name]
        return self.deleted_bundle(name, entry)

    def get_deleted(self, name: str) -> dict:
        if name not in self.deleted:
            raise VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return self.deleted_bundle(name, self.deleted[name])

    def purge_deleted(self, name: str) -> None:
        """Gone for good; answers no body (204)."""
        if name not in self.deleted:
            raise VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        del self.deleted[name]

    def recover_deleted(self, name: str) -> dict:
        if name not in self.deleted:
            raise VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        entry = self.deleted.pop(name)
        self.secrets[name] = entry["versions"]
        return self.bundle(name, entry["versions"][-1])


class TokenChecker:
    """Is a bearer token one the test authority issued, and whose is it? Cached per token until it expires."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.cache: dict = {}
        self.lock = threading.Lock()
        self.tls = ssl.create_default_context(cafile=cfg["authority_ca_bundle"])

    @staticmethod
    def _claims(token: str) -> dict | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            return json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            return None

    def _jwks_verified(self, token: str):
        """The claims when the authority publishes signing keys that verify the token; None when it publishes none."""
        try:
            import jwt  # pylint: disable=import-outside-toplevel
        except ImportError:
            return None
        url = f"{self.cfg['authority']}/{self.cfg['tenant_id']}/discovery/v2.0/keys"
        try:
            with urllib.request.urlopen(url, context=self.tls, timeout=10) as resp:
                keys = json.loads(resp.read()).get("keys") or []
        except (urllib.error.URLError, ValueError, OSError):
            return None
        if not keys:
            return None
        header = jwt.get_unverified_header(token)
        for key in keys:
            if key.get("kid") not in (None, header.get("kid")):
                continue
            try:
                return jwt.decode(token, jwt.PyJWK(key).key, algorithms=[header.get("alg", "RS256")],
                                  options={"verify_aud": False})
            except jwt.PyJWTError:
                continue
        return {}

    def _arm_accepts(self, token: str) -> bool:
        """Opaque tokens: the issuer's own resource server (the ARM double) is asked once."""
        url = f"{self.cfg['arm_endpoint']}/subscriptions/{self.cfg['subscription_id']}?api-version=2022-12-01"
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=10):
                return True
        except urllib.error.HTTPError as err:
            return err.code != 401
        except (urllib.error.URLError, OSError):
            return False

    def identity(self, token: str) -> dict | None:
        """{"appid", "oid"} of a valid token, None for an invalid one."""
        with self.lock:
            cached = self.cache.get(token)
        if cached and cached[0] > time.time():
            return cached[1]
        claims = self._claims(token)
        verified = self._jwks_verified(token) if claims is not None else None
        if verified == {}:
            return None
        if verified is None and not self._arm_accepts(token):
            return None
        claims = verified or claims or {}
        who = {"appid": claims.get("appid") or claims.get("azp") or self.cfg["client_id"],
               "oid": claims.get("oid") or claims.get("sub") or self.cfg.get("object_id") or ""}
        with self.lock:
            self.cache[token] = (min(claims.get("exp") or time.time() + 3000, time.time() + 3000), who)
        return who


SECRET = re.compile(r"^/secrets/(?P<name>[^/]+)(?:/(?P<version>[^/]*))?$")
DELETED = re.compile(r"^/deletedsecrets/(?P<name>[^/]+)(?P<recover>/recover)?$")


class Handler(BaseHTTPRequestHandler):
    server_version = "KeyVaultTestDouble/1.0"
    protocol_version = "HTTP/1.1"
    vault: Vault = None
    checker: TokenChecker = None
    cfg: dict = None
    log: list = None

    def log_message(self, fmt, *args):
        return

    def reply(self, status: int, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-keyvault-service-version", "1.9.0.0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _challenge(self) -> dict:
        return {"WWW-Authenticate": f'Bearer authorization="{self.cfg["authority"]}/{self.cfg["tenant_id"]}", '
                                    f'resource="{self.vault.url}"'}

    def _authorize(self, action: str, path: str) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise VaultError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                             headers=self._challenge())
        who = self.checker.identity(auth[7:])
        if who is None:
            raise VaultError(401, "Unauthorized", "AKV10032: Invalid issuer or signature.", headers=self._challenge())
        if who["appid"] in self.vault.allowed or (who["oid"] and who["oid"] in self.vault.allowed):
            return
        raise VaultError(
            403, "Forbidden",
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or "
            "role definitions were changed recently, please observe propagation time.\r\n"
            f"Caller: appid={who['appid']};oid={who['oid']};iss=https://sts.windows.net/{self.cfg['tenant_id']}/\r\n"
            f"Action: 'Microsoft.KeyVault/vaults/secrets/{action}'\r\n"
            f"Resource: '/subscriptions/{self.cfg['subscription_id']}/resourcegroups/{self.cfg['resource_group']}/"
            f"providers/microsoft.keyvault/vaults/{self.vault.name}{path.lower()}'\r\n"
            "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n"
            f"Vault: {self.vault.name};location={self.cfg['location']}\r\n",
            inner="ForbiddenByRbac")

    def _route(self, method: str, path: str, body):
        vault = self.vault
        if path == "/secrets" and method == "GET":
            return "readMetadata/action", lambda: (200, vault.list_secrets())
        found = SECRET.match(path)
        if found:
            name, version = found.group("name"), found.group("version")
            if method == "PUT" and version is None:
                return "setSecret/action", lambda: (200, vault.set_secret(name, body))
            if method == "GET" and version == "versions":
                return "readMetadata/action", lambda: (200, vault.list_versions(name))
            if method == "GET":
                return "getSecret/action", lambda: (200, vault.get_secret(name, version or ""))
            if method == "PATCH" and version is not None:
                return "writeMetadata/action", lambda: (200, vault.update_secret(name, version, body))
            if method == "DELETE" and version is None:
                return "delete", lambda: (200, vault.delete_secret(name))
        found = DELETED.match(path)
        if found:
            name = found.group("name")
            if method == "GET" and not found.group("recover"):
                return "readMetadata/action", lambda: (200, vault.get_deleted(name))
            if method == "DELETE" and not found.group("recover"):
                return "purge/action", lambda: (204, vault.purge_deleted(name))
            if method == "POST" and found.group("recover"):
                return "recover/action", lambda: (200, vault.recover_deleted(name))
        raise VaultError(405 if SECRET.match(path) or DELETED.match(path) else 404, "BadParameter",
                         f"{method} {path} is not served by the Key Vault test double.")

    def _handle(self):
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status = 0
        try:
            if not query.get("api-version"):
                raise VaultError(400, "BadParameter", "The 'api-version' query parameter is required.")
            body = json.loads(raw) if raw else None
            action, work = self._route(self.command, path, body)
            self._authorize(action, path)
            with self.vault.lock:
                status, payload = work()
            self.reply(status, payload)
        except VaultError as err:
            status = err.status
            self.reply(err.status, err.body(), err.headers)
        except json.JSONDecodeError as err:
            status = 400
            self.reply(400, VaultError(400, "BadParameter", f"The request body is not JSON: {err}").body())
        except Exception as err:  # pylint: disable=broad-except  # the double must answer, and say why
            status = 500
            self.reply(500, VaultError(500, "InternalError", f"Key Vault test double bug: {err!r}").body())
        finally:
            print(f"{time.strftime('%H:%M:%S')} {self.vault.name} {self.command} {path} {status}", flush=True)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _handle


def serve(cfg: dict, vault_cfg: dict, checker: TokenChecker) -> ThreadingHTTPServer:
    vault = Vault(vault_cfg["name"], vault_cfg["url"], vault_cfg.get("allowed", []))
    handler = type("VaultHandler", (Handler,), {"vault": vault, "checker": checker, "cfg": cfg})
    server = ThreadingHTTPServer(("127.0.0.1", vault_cfg["port"]), handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cfg["cert_file"], cfg["key_file"])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    return server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="JSON written by the keyvault component")
    args = parser.parse_args(argv)
    cfg = json.loads(Path(args.config).read_text())
    checker = TokenChecker(cfg)
    servers = [serve(cfg, vault_cfg, checker) for vault_cfg in cfg["vaults"]]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    for vault_cfg in cfg["vaults"]:
        print(f"Key Vault test double: vault {vault_cfg['name']} at {vault_cfg['url']}", flush=True)
    servers[0].serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
