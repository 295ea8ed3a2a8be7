# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Key Vault secrets: the client (the collection's Azure auth), password generation, and ``SecretRunner`` that
makes one secret present or absent with ``changed`` read from Key Vault itself. No value ever enters a result,
a diff or an error unless the caller asks for it (``return_value``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import secrets
import string
import traceback

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (
    AzureOpError, _endpoints, _transport_kwargs, azure_credential, is_not_found, to_op_error)

KEYVAULT_IMPORT_ERROR = None
try:
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.keyvault.secrets import SecretClient
except ImportError:  # pragma: no cover - reported by the module
    KEYVAULT_IMPORT_ERROR = traceback.format_exc()
    AzureError = HttpResponseError = Exception

# The DNS suffix of Key Vault in each cloud (https://<vault>.<suffix>).
VAULT_SUFFIXES = {
    "AzureCloud": "vault.azure.net",
    "AzureUSGovernment": "vault.usgovcloudapi.net",
    "AzureChinaCloud": "vault.azure.cn",
}

CHARACTER_CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
}
DEFAULT_SPECIAL = "-_.~!#%+="
VAULT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
HIDDEN = "(hidden)"


def generate_password(length, classes, special_characters=DEFAULT_SPECIAL):
    """A random password of `length` characters with at least one of each class (lower, upper, digits, special)."""
    pools = [CHARACTER_CLASSES[c] if c != "special" else special_characters for c in classes]
    if not pools or any(not pool for pool in pools):
        raise AzureOpError("generate.classes needs at least one character class, and generate.special_characters "
                           "must not be empty when the class special is chosen", option="generate")
    if length < max(len(pools), 8):
        raise AzureOpError("generate.length must be at least 8 and at least the number of classes (%d); got %d"
                           % (len(pools), length), option="generate")
    alphabet = "".join(pools)
    chars = [secrets.choice(pool) for pool in pools]
    chars += [secrets.choice(alphabet) for dummy in range(length - len(chars))]
    for index in range(len(chars) - 1, 0, -1):  # Fisher-Yates with a CSPRNG: the class positions are random too
        other = secrets.randbelow(index + 1)
        chars[index], chars[other] = chars[other], chars[index]
    return "".join(chars)


def parse_expires(text):
    """An ISO 8601 date-time (UTC when it has no zone) as an aware datetime; None stays None."""
    if text is None:
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AzureOpError("expires must be an ISO 8601 date-time such as 2027-06-30T00:00:00Z; got %r" % text,
                           option="expires")
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _iso(value):
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def vault_url(params):
    if params.get("vault_url"):
        return params["vault_url"].rstrip("/")
    name = params["vault_name"]
    if not VAULT_NAME.match(name):
        raise AzureOpError("vault_name %r is not a Key Vault name (3-24 letters, digits and hyphens, starting with "
                           "a letter); or give vault_url" % name, option="vault_name")
    return "https://%s.%s" % (name, VAULT_SUFFIXES[params.get("cloud_environment") or "AzureCloud"])


def secret_client(params):
    if KEYVAULT_IMPORT_ERROR:
        raise AzureOpError("azure-keyvault-secrets is not installed (pip install -r requirements.txt)",
                           code="MissingLibrary")
    kwargs = _transport_kwargs(params)
    if _endpoints(params)["overridden_authority"]:
        # A private authority and vault (tests): the vault's address is not a subdomain of its challenge resource.
        kwargs["verify_challenge_resource"] = False
    return SecretClient(vault_url(params), azure_credential(params), **kwargs)


def _caller(params, err):
    """Who Key Vault turned away: the Caller line of its 403 when it names one, else the configured client id."""
    found = re.search(r"Caller:\s*([^\r\n]+)", getattr(err, "message", "") or str(err))
    if found:
        return found.group(1).strip()
    return "client_id=%s" % params["client_id"] if params.get("client_id") else \
        "the identity of auth_source=%s" % (params.get("auth_source") or "auto")


class SecretRunner:
    """present/absent of one secret. Reads first; writes only what differs; check mode writes nothing."""

    def __init__(self, client, params):
        self.client = client
        self.params = params
        self.name = params["name"]

    # -- Key Vault calls: every SDK error becomes an AzureOpError here --------------------------------------
    def _error(self, action, err):
        vault = self.client.vault_url
        if isinstance(err, HttpResponseError) and err.status_code == 403:
            return AzureOpError(
                "Key Vault %s refused to %s secret %s for %s (HTTP 403 %s). Grant that identity a role on the "
                "vault that allows it (Key Vault Secrets Officer to write, Key Vault Secrets User to read), or an "
                "access policy on vaults without RBAC, or run as an identity that has one."
                % (vault, action, self.name, _caller(self.params, err),
                   (getattr(err, "error", None) and err.error.code) or "Forbidden"),
                code="Forbidden", status_code=403, vault_url=vault, option="client_id")
        return to_op_error(err, "Key Vault %s: %s secret %s" % (vault, action, self.name))

    def _call(self, action, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AzureError as err:
            raise self._error(action, err)

    def _read(self, deleted=False):
        """The current version (or the soft-deleted secret); None when there is none."""
        try:
            return (self.client.get_deleted_secret if deleted else self.client.get_secret)(self.name)
        except AzureError as err:
            if is_not_found(err):
                return None
            raise self._error("read the deleted" if deleted else "read", err)

    # -- shapes --------------------------------------------------------------------------------------------
    @staticmethod
    def _view(secret):
        """What a diff and a result may show of a secret: never its value."""
        if secret is None:
            return {"exists": False}
        props = secret.properties
        return {"exists": True, "version": props.version, "content_type": props.content_type,
                "tags": dict(props.tags or {}), "expires": _iso(props.expires_on), "enabled": props.enabled}

    def _result(self, changed, secret, before, after, value=None):
        result = {"changed": changed, "name": self.name, "vault_url": self.client.vault_url,
                  "diff": {"before": before, "after": after}}
        if secret is not None:
            view = self._view(secret)
            result.update(version=view["version"], id=secret.properties.id, content_type=view["content_type"],
                          tags=view["tags"], expires=view["expires"], exists=True)
        else:
            result.update(exists=after.get("exists", False), version=None)
        if self.params.get("return_value") and value is not None:
            result["value"] = value
        return result

    # -- present -------------------------------------------------------------------------------------------
    def present(self, check_mode):
        params = self.params
        expires = parse_expires(params.get("expires"))
        current = self._read()
        recovered = False
        if current is None and self._read(deleted=True) is not None:
            if not params.get("recover"):
                raise AzureOpError(
                    "secret %s in Key Vault %s is deleted but recoverable: set recover=true to restore it (its "
                    "versions come back), or purge it first (state=absent purge=true)"
                    % (self.name, self.client.vault_url), code="ObjectIsDeletedButRecoverable", option="recover")
            if check_mode:
                before = {"exists": False, "deleted": True}
                return self._result(True, None, before, {"exists": True, "recovered": True})
            self._call("recover", lambda: self.client.begin_recover_deleted_secret(self.name).wait())
            current, recovered = self._read(), True
        before = self._view(current)

        if current is None or (params.get("value") is not None and params["value"] != current.value):
            value = params["value"] if params.get("value") is not None else generate_password(
                params["generate"]["length"], params["generate"]["classes"],
                params["generate"]["special_characters"])
            old = current.properties if current is not None else None
            content_type = params["content_type"] if params.get("content_type") is not None else \
                (old.content_type if old else None)
            tags = params["tags"] if params.get("tags") is not None else (dict(old.tags or {}) if old else None)
            expires_on = expires if expires is not None else (old.expires_on if old else None)
            after = {"exists": True, "version": "(new version)", "content_type": content_type,
                     "tags": dict(tags or {}), "expires": _iso(expires_on), "enabled": True,
                     "value": HIDDEN + (" generated" if params.get("value") is None else " changed")}
            if check_mode:
                return self._result(True, None, before, after, value=None)
            secret = self._call("write", self.client.set_secret, self.name, value, content_type=content_type,
                                tags=tags, expires_on=expires_on)
            after.update(version=secret.properties.version)
            return self._result(True, secret, before, after, value=value)

        props = current.properties
        update = {}
        if params.get("content_type") is not None and params["content_type"] != props.content_type:
            update["content_type"] = params["content_type"]
        if params.get("tags") is not None and params["tags"] != dict(props.tags or {}):
            update["tags"] = params["tags"]
        if expires is not None and expires != props.expires_on:
            update["expires_on"] = expires
        if not update:
            return self._result(recovered, current, before, before, value=current.value)
        after = dict(before, **{("expires" if k == "expires_on" else k): (_iso(v) if k == "expires_on" else v)
                                for k, v in update.items()})
        if check_mode:
            return self._result(True, current, before, after, value=current.value)
        self._call("update the properties of", self.client.update_secret_properties, self.name, props.version,
                   **update)
        secret = self._read()
        return self._result(True, secret, before, self._view(secret), value=secret.value)

    # -- absent --------------------------------------------------------------------------------------------
    def absent(self, check_mode):
        current = self._read()
        deleted = self._read(deleted=True) if current is None else None
        purge = self.params.get("purge")
        before = self._view(current)
        if current is None and (deleted is None or not purge):
            before = dict(before, deleted=deleted is not None)
            return self._result(False, None, before, before)
        after = {"exists": False, "deleted": not purge}
        if not check_mode:
            if current is not None:
                self._call("delete", lambda: self.client.begin_delete_secret(self.name).wait())
            if purge:
                self._call("purge", self.client.purge_deleted_secret, self.name)
        return self._result(True, None, before, after)
