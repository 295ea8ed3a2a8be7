"""What the double holds (resource groups, resources, deployments, operations, tokens), its request log, counters
and armed faults, and the lookups every route shares. One lock: requests are few and tiny."""

from __future__ import annotations

import copy
import re
import secrets
import threading
import uuid

from .errors import ArmError

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"


class Store:
    """The double's state and bookkeeping (the deployment engine, what-if and timing are mixed in by Double)."""

    def __init__(self, config: dict):
        self.cfg = config
        self.lock = threading.RLock()
        self.subscription_id = config["subscription_id"]
        self.tenant_id = config["tenant_id"]
        self.resource_groups: dict = {}  # name lower -> body
        self.resources: dict = {}  # id lower -> {"requested": body, "readonly": {...}}
        self.deployments: dict = {}  # id lower -> deployment record (body)
        self.operations: dict = {}  # op id -> operation
        self.tokens: dict = {}  # access token -> expiry
        self.faults: list = []
        self.log: list = []
        self.counters: dict = {}
        self.seq = 0
        self.timing: dict | None = None  # None: instant LROs (the default); see set_timing()

    # -- bookkeeping ------------------------------------------------------------------------------------------
    def record(self, entry: dict) -> None:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            del self.log[:-5000]
            op = entry["operation"]
            self.counters[op] = self.counters.get(op, 0) + 1

    def take_fault(self, method: str, path: str, kinds: tuple):
        """The first armed fault matching this request (decrementing its count), or None."""
        with self.lock:
            for fault in self.faults:
                if fault["kind"] not in kinds or fault["remaining"] <= 0:
                    continue
                if fault.get("method") and fault["method"].upper() != method:
                    continue
                if fault.get("path_contains") and fault["path_contains"].lower() not in path.lower():
                    continue
                fault["remaining"] -= 1
                fault["fired"] += 1
                return fault
        return None

    # -- lookups ----------------------------------------------------------------------------------------------
    def resource_body(self, rid: str):
        rec = self.resources.get(rid.lower())
        if rec is not None:
            body = copy.deepcopy(rec["requested"])
            body["properties"] = merge(rec["readonly"], body.get("properties") or {})
            identity = body.get("identity")
            if isinstance(identity, dict) and "systemassigned" in str(identity.get("type", "")).lower():
                # ARM adds the system-assigned identity's service principal to what was PUT.
                body["identity"] = {**identity, "tenantId": self.tenant_id, "principalId": str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"{body['id'].lower()}#identity/principalId"))}
            return body
        dep = self.deployments.get(rid.lower())
        if dep is not None:
            return copy.deepcopy(dep)
        rg = self.rg_by_id(rid)
        return copy.deepcopy(rg) if rg else None

    def rg_by_id(self, rid: str):
        match = re.fullmatch(r"/subscriptions/([^/]+)/resourcegroups/([^/]+)", rid, re.I)
        if match and match.group(1).lower() == self.subscription_id.lower():
            return self.resource_groups.get(match.group(2).lower())
        return None

    def require_subscription(self, sub: str) -> None:
        if sub.lower() != self.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    def require_rg(self, name: str) -> dict:
        rg = self.resource_groups.get(name.lower())
        if rg is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        return rg


def readonly_properties(body: dict, rg_name: str | None) -> dict:
    """Read-only properties ARM adds to what was PUT (provisioningState; cluster fields for AKS)."""
    ro = {"provisioningState": "Succeeded"}
    kind = body["type"].lower()

    def stable_id(field):
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{body['id'].lower()}#{field}"))
    if kind == "microsoft.managedidentity/userassignedidentities":
        ro.update(principalId=stable_id("principalId"), clientId=stable_id("clientId"),
                  tenantId=stable_id("tenantId"))
    elif kind == "microsoft.keyvault/vaults":
        ro["vaultUri"] = f"https://{body['name']}.vault.azure.net/"
    elif kind == "microsoft.storage/storageaccounts":
        ro["primaryEndpoints"] = {svc: f"https://{body['name']}.{svc}.core.windows.net/"
                                  for svc in ("blob", "dfs", "file", "queue", "table", "web")}
    if kind == CLUSTER_TYPE:
        addons = (body.get("properties") or {}).get("addonProfiles") or {}
        ro["addonProfiles"] = {
            name: {"identity": {"clientId": stable_id(name + "/clientId"), "objectId": stable_id(name + "/objectId"),
                                "resourceId": f"{body['id']}/addons/{name}"}}
            for name, addon in addons.items() if isinstance(addon, dict) and addon.get("enabled")}
        props = body.get("properties") or {}
        prefix = props.get("dnsPrefix") or body["name"]
        location = body.get("location", "westeurope")
        ro.update({
            "fqdn": f"{prefix}-{secrets.token_hex(4)}.hcp.{location}.azmk8s.io",
            "currentKubernetesVersion": props.get("kubernetesVersion", "1.36.0"),
            "powerState": {"code": "Running"},
            "nodeResourceGroup": props.get("nodeResourceGroup") or f"MC_{rg_name}_{body['name']}_{location}",
            "maxAgentPools": 100,
        })
        if (props.get("oidcIssuerProfile") or {}).get("enabled"):
            ro["oidcIssuerProfile"] = {"enabled": True, "issuerURL": f"https://{location}.oic.prod-aks.azure.com/"
                                                                     f"{uuid.uuid4()}/"}
    return ro


def merge(base: dict, top: dict) -> dict:
    """top over base, recursively (what was PUT wins over read-only fields ARM adds)."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out
