"""The strict ARM test double: Azure Resource Manager + Entra ID token endpoint over HTTPS (stdlib only,
plus template_engine.py next to it). See README.md for what it serves and how to drive it.

    server.py --config CONFIG.json      (written by tests/testenv/components/arm.py)
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import secrets
import ssl
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from template_engine import (  # noqa: E402  pylint: disable=wrong-import-position
    Evaluator, Scope, TemplateError, bind_parameters, check_template_shape, evaluate_outputs, expand_resources,
    order_by_dependencies, reevaluate, template_hash)

API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
DEPLOYMENT_TYPE = "microsoft.resources/deployments"
CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
# Properties ARM compares in what-if (identity fields and apiVersion are not changes).
_NOT_COMPARED = {"id", "name", "type", "apiVersion"}

# -- optional "azure-like" LRO timing (POST /_testenv/timing; off by default: every LRO ends at its first poll) --
# Seconds a resource takes inside a deployment when it is re-PUT UNCHANGED (the no-op re-run of a tool that
# always PUTs). ESTIMATES, not measurements: the AKS figures are the order of magnitude of an unchanged
# managedClusters / agentPools PUT, which still runs the cluster reconcile (minutes); the others are the
# few-seconds-to-half-a-minute range of a no-change PUT for these providers. Nothing here is taken from a
# measured Azure run; change the table (or pass "durations" to the control API) to test another assumption.
AZURE_LIKE_SECONDS = {
    "microsoft.containerservice/managedclusters": 240,
    "microsoft.containerservice/managedclusters/agentpools": 120,
    "microsoft.network/virtualnetworks": 10,
    "microsoft.network/virtualnetworks/subnets": 10,
    "microsoft.network/networksecuritygroups": 5,
    "microsoft.keyvault/vaults": 20,
    "microsoft.storage/storageaccounts": 20,
    "microsoft.storage/storageaccounts/blobservices": 5,
    "microsoft.storage/storageaccounts/blobservices/containers": 5,
    "microsoft.operationalinsights/workspaces": 15,
    "microsoft.managedidentity/userassignedidentities": 5,
    "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials": 5,
    "microsoft.authorization/roleassignments": 5,
    "microsoft.insights/datacollectionrules": 5,
    "microsoft.insights/datacollectionruleassociations": 5,
}
AZURE_LIKE_DEFAULT_SECONDS = 10  # any type not in the table (estimate)
AZURE_LIKE_WHAT_IF_SECONDS = 15  # a what-if of a template this size (estimate)
# Retry-After (seconds) on every LRO response under the profile. ARM sends Retry-After on its async operations;
# the value used here is an assumption (15 s), scaled like the durations.
AZURE_LIKE_RETRY_AFTER = 15


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ArmError(Exception):
    """An ARM error response: HTTP status + {"error": {code, message, target?, details?}}."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None, details=None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.target:
            err["target"] = self.target
        if self.details:
            err["details"] = self.details
        return {"error": err}


def template_error(err: TemplateError, status: int = 400) -> ArmError:
    return ArmError(status, err.code, err.message, target=err.target)


# -------------------------------------------------------------------------------------------------------------
# What-if comparison
# -------------------------------------------------------------------------------------------------------------

def property_delta(before, after, path: str = "") -> list:
    """ARM-shaped WhatIfPropertyChange list between two resource bodies."""
    changes = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if not path and key in _NOT_COMPARED:
                continue
            sub = f"{path}.{key}" if path else key
            if key not in before:
                changes.append({"path": sub, "propertyChangeType": "Create", "after": after[key]})
            elif key not in after:
                changes.append({"path": sub, "propertyChangeType": "Delete", "before": before[key]})
            else:
                changes.extend(property_delta(before[key], after[key], sub))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        if before == after:
            return []
        children = []
        for i in range(max(len(before), len(after))):
            if i >= len(before):
                children.append({"path": str(i), "propertyChangeType": "Create", "after": after[i]})
            elif i >= len(after):
                children.append({"path": str(i), "propertyChangeType": "Delete", "before": before[i]})
            else:
                inner = property_delta(before[i], after[i], "")
                if inner:
                    children.append({"path": str(i), "propertyChangeType": "Modify", "children": inner})
        return [{"path": path, "propertyChangeType": "Array", "children": children}]
    if before != after or type(before) is not type(after):
        return [{"path": path, "propertyChangeType": "Modify", "before": before, "after": after}]
    return []


# -------------------------------------------------------------------------------------------------------------
# State
# -------------------------------------------------------------------------------------------------------------

class Double:
    """Everything the double holds. One lock: requests are few and tiny."""

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
            body["properties"] = _merge(rec["readonly"], body.get("properties") or {})
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

    # -- template runs ----------------------------------------------------------------------------------------
    def _scope(self, rg_name: str | None, deployment_name: str, location: str | None) -> Scope:
        rg = self.resource_groups.get(rg_name.lower()) if rg_name else None
        return Scope(self.subscription_id, self.tenant_id, copy.deepcopy(rg) if rg else None, deployment_name,
                     location)

    def plan(self, rg_name, deployment_name, props, location, what_if):
        """Evaluate a deployment request: (parameter echo, [(PlannedResource, rg name)], evaluator)."""
        template = props.get("template")
        if template is None:
            if props.get("templateLink"):
                raise ArmError(400, "InvalidTemplate", "templateLink is not supported by the ARM test double: "
                                                       "send the template inline.")
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                         "deserialized: 'template' is required.")
        try:
            check_template_shape(template)
            ev = Evaluator(self._scope(rg_name, deployment_name, location), self.resource_body, what_if=what_if)
            params = props.get("parameters") or {}
            if not isinstance(params, dict):
                raise TemplateError("The deployment 'parameters' must be an object.", code="InvalidRequestContent")
            ev.variables_raw = dict(template.get("variables") or {})
            echo = bind_parameters(ev, template, params)
            for name in list(ev.variables_raw):
                if name != "copy":
                    ev.variable(name)
            if "copy" in ev.variables_raw:
                ev.variable("copy")
            planned = expand_resources(ev, template, keep_unknowns=what_if)
            for res in planned:
                if not res.raw.get("apiVersion"):
                    raise TemplateError(f"Deployment template validation failed: 'The resource '{res.id}' does "
                                        f"not have an apiVersion.'.", target=res.id)
            planned = order_by_dependencies(planned, ev.symbols)
        except TemplateError as err:
            raise template_error(err) from err
        return echo, planned, ev

    # -- modelled LRO durations (profile "azure-like") -------------------------------------------------------
    def set_timing(self, body: dict) -> dict:
        profile = body.get("profile", "azure-like")
        if profile == "instant":
            self.timing = None
            return {"profile": "instant"}
        if profile != "azure-like":
            raise ValueError("profile must be 'azure-like' or 'instant'")
        scale = float(body.get("time_scale", 1.0))
        if not 0 < scale <= 1:
            raise ValueError("time_scale must be in (0, 1]")
        durations = {**AZURE_LIKE_SECONDS, **{k.lower(): float(v) for k, v in (body.get("durations") or {}).items()}}
        retry_after = float(body.get("retry_after", AZURE_LIKE_RETRY_AFTER))
        scaled = retry_after * scale
        sent = max(1, round(scaled))
        self.timing = {"profile": "azure-like", "time_scale": scale, "durations": durations,
                       "default_seconds": float(body.get("default_seconds", AZURE_LIKE_DEFAULT_SECONDS)),
                       "what_if_seconds": float(body.get("what_if_seconds", AZURE_LIKE_WHAT_IF_SECONDS)),
                       "retry_after": retry_after, "retry_after_sent": sent,
                       # polls = duration / Retry-After is the same as on the unscaled clock only when the
                       # scaled Retry-After is a whole number of seconds >= 1 (ARM sends whole seconds)
                       "scale_invariant": abs(scaled - sent) < 1e-6}
        return self.timing

    def resource_seconds(self, res, rg_name, location) -> float:
        """Modelled seconds for one planned resource (a nested deployment: its own critical path)."""
        kind = res.body["type"].lower()
        if kind == DEPLOYMENT_TYPE:
            try:
                nested = self._nested_props(res)
                planned = self.plan(self._nested_rg(res, rg_name), res.body["name"], nested, location, True)[1]
                return self.critical_path(planned, rg_name, location)
            except ArmError:
                return self.timing["default_seconds"]
        return self.timing["durations"].get(kind, self.timing["default_seconds"])

    def critical_path(self, planned: list, rg_name, location) -> float:
        """ARM runs resources in parallel as far as dependsOn allows, so a deployment lasts as long as its
        longest dependsOn chain: finish(r) = seconds(r) + max(finish(d) for d in r.dependsOn). `planned` comes
        topologically ordered (template_engine.order_by_dependencies)."""
        by_id = {p.id.lower(): p for p in planned}
        finish: dict = {}
        for res in planned:
            deps = []
            for dep in res.depends_on:
                if not isinstance(dep, str):
                    continue
                key = dep.lower()
                target = key if key in by_id else next((k for k in by_id if k.endswith(key)), None)
                if target in finish:
                    deps.append(finish[target])
            finish[res.id.lower()] = self.resource_seconds(res, rg_name, location) + max(deps, default=0)
        return max(finish.values(), default=0)

    def _nested_props(self, res) -> dict:
        props = res.body.get("properties") or {}
        raw_props = res.raw.get("properties") or {}
        scope = ((raw_props.get("expressionEvaluationOptions") or {}).get("scope") or "outer").lower()
        if raw_props.get("template") is not None and scope != "inner":
            raise ArmError(400, "InvalidTemplate", f"The nested deployment '{res.body['name']}' uses outer "
                                                   f"expression evaluation, which the ARM test double does not "
                                                   f"support (Bicep emits 'inner').", target=res.id)
        return {"template": raw_props.get("template"), "parameters": props.get("parameters") or {},
                "mode": props.get("mode", "Incremental")}

    @staticmethod
    def _nested_rg(res, default_rg):
        return res.body.get("resourceGroup") or default_rg

    def what_if(self, rg_name, deployment_name, props, location) -> list:
        """WhatIfChange list for a deployment request (resource-level, nested deployments expanded)."""
        changes, seen = [], set()

        def walk(rg, name, p, loc):
            planned, ev = self.plan(rg, name, p, loc, what_if=True)[1:]
            for res in planned:
                if res.body["type"].lower() == DEPLOYMENT_TYPE:
                    nested = self._nested_props(res)
                    target_rg = self._nested_rg(res, rg)
                    if target_rg and target_rg.lower() not in self.resource_groups and \
                            target_rg.lower() not in planned_rgs:
                        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{target_rg}' could not be "
                                                                     f"found.", target=res.id)
                    if target_rg and target_rg.lower() in planned_rgs and \
                            target_rg.lower() not in self.resource_groups:
                        # The group does not exist yet: everything in it would be created; evaluate against
                        # a provisional group so names and ids resolve.
                        self.resource_groups[target_rg.lower()] = planned_rgs[target_rg.lower()]
                        try:
                            walk(target_rg, res.body["name"], nested, loc)
                        finally:
                            self.resource_groups.pop(target_rg.lower(), None)
                    else:
                        walk(target_rg, res.body["name"], nested, loc)
                    continue
                seen.add(res.id.lower())
                after = copy.deepcopy(res.body)
                if res.body["type"].lower() == "microsoft.resources/resourcegroups":
                    planned_rgs[res.body["name"].lower()] = {
                        "id": res.id, "name": res.body["name"], "type": "Microsoft.Resources/resourceGroups",
                        "location": res.body.get("location"), "properties": {"provisioningState": "Succeeded"}}
                    held = self.resource_groups.get(res.body["name"].lower())
                    before = copy.deepcopy(held) if held else None
                    before_req = {k: held.get(k) for k in ("location", "tags")} if held else None
                    after = {k: after.get(k) for k in ("id", "name", "type", "apiVersion", "location", "tags")}
                    after["tags"] = after.get("tags") or {}
                else:
                    rec = self.resources.get(res.id.lower())
                    before_req = rec["requested"] if rec else None
                    before = self.resource_body(res.id) if rec else None
                if before is None:
                    changes.append({"resourceId": res.id, "changeType": "Create", "after": after})
                    continue
                delta = property_delta(_comparable(before_req), _comparable(after))
                change = {"resourceId": res.id, "changeType": "Modify" if delta else "NoChange",
                          "before": before, "after": after}
                if delta:
                    change["delta"] = delta
                changes.append(change)
            if rg:
                mode = (p.get("mode") or "Incremental").lower()
                prefix = f"/subscriptions/{self.subscription_id}/resourcegroups/{rg}/".lower()
                for key, rec in sorted(self.resources.items()):
                    if key.startswith(prefix) and key not in seen and key.count("/providers/") == 1:
                        changes.append({"resourceId": rec["requested"]["id"],
                                        "changeType": "Delete" if mode == "complete" else "Ignore",
                                        "before": self.resource_body(key)})
                        seen.add(key)

        planned_rgs: dict = {}
        walk(rg_name, deployment_name, props, location)
        return changes

    def apply(self, rg_name, deployment_name, props, location, fail_with=None) -> dict:
        """Deploy for real: store resources, return {outputs, outputResources}. Raises ArmError on failure."""
        # Plan like ARM's preflight (runtime references unresolved), then evaluate each body when its turn
        # comes, so reference() sees resources this deployment created before it.
        echo, planned, ev = self.plan(rg_name, deployment_name, props, location, what_if=True)
        ev.what_if = False
        if fail_with is not None:
            target = planned[0].id if planned else None
            raise ArmError(200, "DeploymentFailed",
                           "At least one resource deployment operation failed. Please list deployment operations "
                           "for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
                           details=[{"code": "ResourceDeploymentFailure", "target": target,
                                     "message": "The resource write operation failed to complete successfully, "
                                                "because it reached terminal provisioning state 'Failed'.",
                                     "details": [fail_with]}])
        output_resources, touched = [], set()
        for res in planned:
            kind = res.body["type"].lower()
            try:
                res.body = reevaluate(ev, res)
            except TemplateError as err:
                raise ArmError(200, "DeploymentFailed", "At least one resource deployment operation failed.",
                               details=[{"code": err.code, "target": res.id, "message": err.message}]) from err
            if kind == DEPLOYMENT_TYPE:
                nested = self._nested_props(res)
                target_rg = self._nested_rg(res, rg_name)
                if target_rg:
                    self.require_rg(target_rg)
                result = self.apply(target_rg, res.body["name"], nested, location)
                record = self.deployment_record(target_rg, res.body["name"], nested, result, "Succeeded",
                                                nested_echo=result.pop("_echo"))
                self.deployments[record["id"].lower()] = record
                ev.deployed[res.id.lower()] = record
                output_resources.extend(result["outputResources"])
                continue
            if kind == "microsoft.resources/resourcegroups":
                self.resource_groups[res.body["name"].lower()] = {
                    "id": res.id, "name": res.body["name"], "type": "Microsoft.Resources/resourceGroups",
                    "location": res.body.get("location"), "tags": res.body.get("tags") or {},
                    "properties": {"provisioningState": "Succeeded"}}
            else:
                self.resources[res.id.lower()] = {"requested": copy.deepcopy(res.body),
                                                  "readonly": readonly_properties(res.body, rg_name)}
            touched.add(res.id.lower())
            ev.deployed[res.id.lower()] = self.resource_body(res.id)
            output_resources.append({"id": res.id})
        if rg_name and (props.get("mode") or "Incremental").lower() == "complete":
            prefix = f"/subscriptions/{self.subscription_id}/resourcegroups/{rg_name}/".lower()
            for key in [k for k in self.resources if k.startswith(prefix) and k not in touched]:
                del self.resources[key]
        try:
            outputs = evaluate_outputs(ev, props["template"])
        except TemplateError as err:
            raise ArmError(200, "DeploymentOutputEvaluationFailed", err.message) from err
        return {"outputs": outputs, "outputResources": output_resources, "_echo": echo}

    def deployment_id(self, rg_name, name) -> str:
        if rg_name:
            return (f"/subscriptions/{self.subscription_id}/resourceGroups/{rg_name}/providers/"
                    f"Microsoft.Resources/deployments/{name}")
        return f"/subscriptions/{self.subscription_id}/providers/Microsoft.Resources/deployments/{name}"

    def deployment_record(self, rg_name, name, props, result, state, nested_echo=None, location=None,
                          correlation_id=None, error=None, started=None) -> dict:
        template = props.get("template") or {}
        body = {
            "id": self.deployment_id(rg_name, name),
            "name": name,
            "type": "Microsoft.Resources/deployments",
            "properties": {
                "templateHash": template_hash(template),
                "parameters": nested_echo if nested_echo is not None else {},
                "mode": props.get("mode") or "Incremental",
                "provisioningState": state,
                "timestamp": now_iso(),
                "duration": "PT%.3fS" % (time.monotonic() - started if started else 0.5),
                "correlationId": correlation_id or str(uuid.uuid4()),
                "providers": [],
                "dependencies": [],
                "outputs": (result or {}).get("outputs", {}),
                "outputResources": (result or {}).get("outputResources", []),
            },
        }
        if location:
            body["location"] = location
        if error:
            body["properties"]["error"] = error
        return body


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


def _merge(base: dict, top: dict) -> dict:
    """top over base, recursively (what was PUT wins over read-only fields ARM adds)."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out


def _comparable(body):
    if body is None:
        return None
    return {k: v for k, v in body.items() if k not in _NOT_COMPARED}


# -------------------------------------------------------------------------------------------------------------
# HTTP
# -------------------------------------------------------------------------------------------------------------

ROUTES = []


def route(method: str, pattern: str, operation: str):
    regex = re.compile("^" + pattern + "$", re.I)

    def deco(func):
        ROUTES.append((method, regex, operation, func))
        return func
    return deco


SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourcegroups/(?P<rg>[^/]+)"
DEP = r"/providers/Microsoft\.Resources/deployments/(?P<name>[^/]+)"
MC = RG + r"/providers/Microsoft\.ContainerService/managedClusters/(?P<cluster>[^/]+)"


class Handler(BaseHTTPRequestHandler):
    server_version = "ArmTestDouble/1.0"
    protocol_version = "HTTP/1.1"
    double: Double = None  # set by main()

    def log_message(self, fmt, *args):  # the request log is kept in memory, readable over HTTP
        return

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body=None, headers: dict | None = None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-correlation-request-id", self._correlation)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._status = status
        self._record()  # before the client can see the answer, so the log is complete when it returns
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    @property
    def base(self) -> str:
        return self.double.cfg["endpoint"]

    def _handle(self):
        self._status = 0
        self._recorded = False
        self._correlation = self.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
        started = time.monotonic()
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        raw = self._read_body()
        self._operation = "Unknown"
        self._started, self._path, self._query = started, path, query
        try:
            if path.startswith("/_testenv/"):
                self._operation = "TestEnv"
                return self._control(path, query, raw)
            if path.startswith(f"/{self.double.tenant_id}/") or path.endswith("openid-configuration"):
                self._operation = "Entra_" + path.rsplit("/", 1)[-1]
                return self._entra(path, raw)
            if path == "/metadata/endpoints" and self.command == "GET":
                self._operation = "Metadata_Endpoints"
                return self._metadata(query)
            for method, regex, op_name, func in ROUTES:
                match = regex.match(path)
                if match and method == self.command:
                    self._operation = op_name
                    self._arm_checks(path, query, op_name)
                    body = json.loads(raw) if raw else None
                    return func(self, query=query, body=body, **match.groupdict())
            raise ArmError(404, "InvalidResourceType" if "/providers/" in path else "NotFound",
                           f"The resource type could not be found for {self.command} {path} in the ARM test double.")
        except ArmError as err:
            self._send(err.status, err.body(), err.headers)
        except json.JSONDecodeError as err:
            self._send(400, ArmError(400, "InvalidRequestContent", f"The request content was invalid and could "
                                                                   f"not be deserialized: {err}").body())
        except Exception as err:  # pylint: disable=broad-except  # the double must answer, and say why
            self._send(500, ArmError(500, "InternalServerError", f"ARM test double bug: {err!r}").body())
        finally:
            self._record()

    def _record(self):
        if self._recorded:
            return
        self._recorded = True
        self.double.record({
            "time": now_iso(), "method": self.command, "path": self._path, "operation": self._operation,
            "api_version": self._query.get("api-version"), "status": self._status,
            "client_request_id": self.headers.get("x-ms-client-request-id"),
            "ms": round((time.monotonic() - self._started) * 1000, 1),
        })

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

    def _arm_checks(self, path, query, op_name):
        if op_name != "Operations_Poll":
            fault = self.double.take_fault(self.command, path, ("throttle", "error"))
            if fault:
                if fault["kind"] == "throttle":
                    raise ArmError(429, "TooManyRequests", "The request is being throttled (injected fault).",
                                   headers={"Retry-After": str(fault.get("retry_after", 1))})
                raise ArmError(fault.get("status", 500), fault.get("code", "InternalServerError"),
                               fault.get("message", "Encountered internal server error (injected fault)."))
        auth = self.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate": f'Bearer authorization_uri="{self.base}/{self.double.tenant_id}", '
                                         f'error="invalid_token", error_description="The access token is invalid."'}
        if not auth.startswith("Bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                                                        "missing.", headers=challenge)
        expiry = self.double.tokens.get(auth[7:])
        if expiry is None or expiry < time.time():
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid or expired.",
                           headers=challenge)
        version = query.get("api-version")
        if not version:
            raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is "
                                                              "required for all requests.")
        if not API_VERSION.match(version):
            raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")
        match = re.match(SUB, path, re.I)
        if match:
            self.double.require_subscription(match.group("sub"))

    # -- Entra ID ---------------------------------------------------------------------------------------------
    def _entra(self, path, raw):
        tenant = self.double.tenant_id
        if path.endswith("/.well-known/openid-configuration") and self.command == "GET":
            if not path.startswith(f"/{tenant}/"):
                return self._send(400, {"error": "invalid_tenant", "error_description":
                                        "AADSTS90002: Tenant not found (ARM test double)."})
            return self._send(200, {
                "issuer": f"{self.base}/{tenant}/v2.0",
                "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
                "jwks_uri": f"{self.base}/{tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
            })
        if path == f"/{tenant}/oauth2/v2.0/token" and self.command == "POST":
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            if form.get("grant_type") != "client_credentials":
                return self._send(400, {"error": "unsupported_grant_type",
                                        "error_description": "AADSTS70003: only client_credentials is served."})
            if form.get("client_id") != self.double.cfg["client_id"]:
                return self._send(400, {"error": "unauthorized_client", "error_description":
                                        f"AADSTS700016: Application with identifier '{form.get('client_id')}' was "
                                        f"not found in the directory."})
            ok = False
            if "client_secret" in form:
                ok = secrets.compare_digest(form["client_secret"], self.double.cfg["client_secret"])
                reason = "AADSTS7000215: Invalid client secret provided."
            elif "client_assertion" in form:
                ok = secrets.compare_digest(form["client_assertion"], self.double.cfg["federated_token"])
                reason = "AADSTS700213: No matching federated identity record found for presented assertion."
            else:
                reason = "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required."
            if not ok:
                return self._send(401, {"error": "invalid_client", "error_description": reason})
            token = secrets.token_urlsafe(32)
            with self.double.lock:
                self.double.tokens[token] = time.time() + 3600
            return self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                    "access_token": token})
        return self._send(404, {"error": "not_found", "error_description": f"{path} is not served."})

    # -- cloud metadata ---------------------------------------------------------------------------------------
    def _metadata(self, query):
        """ARM's unauthenticated cloud discovery document (what `cloud_environment: <url>` clients read).

        api-version 2019-05-01 and later answer a list of clouds; older versions one cloud object."""
        base = self.base.rstrip("/")
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
        return self._send(200, [cloud] if version >= "2019-05-01" else cloud)

    # -- test control -----------------------------------------------------------------------------------------
    def _control(self, path, query, raw):
        d = self.double
        body = json.loads(raw) if raw else {}
        with d.lock:
            if path == "/_testenv/requests" and self.command == "GET":
                since = int(query.get("since", 0))
                return self._send(200, {"requests": [e for e in d.log if e["seq"] > since], "last": d.seq})
            if path == "/_testenv/counters" and self.command == "GET":
                return self._send(200, {"counters": dict(d.counters), "total": sum(d.counters.values()),
                                        "last": d.seq})
            if path == "/_testenv/reset" and self.command == "POST":
                d.log.clear()
                d.counters.clear()
                d.faults.clear()
                d.timing = None
                if body.get("state"):
                    d.resource_groups.clear()
                    d.resources.clear()
                    d.deployments.clear()
                    d.operations.clear()
                return self._send(200, {"reset": True})
            if path == "/_testenv/faults" and self.command == "POST":
                kinds = ("throttle", "error", "lro_failed", "slow_lro")
                if body.get("kind") not in kinds:
                    return self._send(400, {"error": f"kind must be one of {kinds}"})
                fault = {"id": str(uuid.uuid4()), "remaining": int(body.get("count", 1)), "fired": 0, **body}
                d.faults.append(fault)
                return self._send(201, fault)
            if path == "/_testenv/faults" and self.command == "GET":
                return self._send(200, {"faults": d.faults})
            if path == "/_testenv/faults" and self.command == "DELETE":
                d.faults.clear()
                return self._send(200, {"faults": []})
            if path == "/_testenv/timing" and self.command == "POST":
                try:
                    return self._send(200, d.set_timing(body))
                except (TypeError, ValueError) as err:
                    return self._send(400, {"error": str(err)})
            if path == "/_testenv/timing" and self.command == "GET":
                return self._send(200, d.timing or {"profile": "instant"})
            if path == "/_testenv/timing" and self.command == "DELETE":
                d.timing = None
                return self._send(200, {"profile": "instant"})
            if path == "/_testenv/state" and self.command == "GET":
                return self._send(200, {"resourceGroups": list(d.resource_groups.values()),
                                        "resources": [d.resource_body(k) for k in d.resources],
                                        "deployments": list(d.deployments.values())})
        return self._send(404, {"error": f"unknown control endpoint {self.command} {path}"})

    # -- long-running operations ------------------------------------------------------------------------------
    def start_operation(self, kind: str, path: str, work, status_path: str, modelled_s: float = 0) -> dict:
        """Register an LRO whose work runs when it is due (at the first poll after its delay). `modelled_s`: its
        duration on Azure under the azure-like timing profile (ignored when the profile is off)."""
        slow = self.double.take_fault(self.command, path, ("slow_lro",))
        timing = self.double.timing
        delay = (slow or {}).get("seconds", 0) + (modelled_s * timing["time_scale"] if timing else 0)
        op_id = str(uuid.uuid4()).upper().replace("-", "")[:20]
        op = {"id": op_id, "kind": kind, "status": "Running", "due": time.monotonic() + delay,
              "work": work, "result": None, "error": None, "started": time.monotonic(), "modelled_s": modelled_s}
        with self.double.lock:
            self.double.operations[op_id] = op
        return op, f"{self.base}{status_path}/operationStatuses/{op_id}?api-version=2025-04-01"

    def retry_after(self) -> dict:
        timing = self.double.timing
        if timing:
            return {"Retry-After": str(timing["retry_after_sent"])}
        return {"Retry-After": str(self.double.cfg.get("retry_after", 1))}

    def advance(self, op) -> None:
        with self.double.lock:
            if op["status"] != "Running" or time.monotonic() < op["due"]:
                return
            try:
                op["result"] = op["work"]()
                op["status"] = "Succeeded"
            except ArmError as err:
                op["status"] = "Failed"
                op["error"] = err.body()["error"]


# -- resource groups ------------------------------------------------------------------------------------------

@route("GET", RG, "ResourceGroups_Get")
def rg_get(h, query, body, sub, rg):
    h._send(200, h.double.require_rg(rg))


@route("HEAD", RG, "ResourceGroups_CheckExistence")
def rg_head(h, query, body, sub, rg):
    h._send(204 if rg.lower() in h.double.resource_groups else 404)


@route("PUT", RG, "ResourceGroups_CreateOrUpdate")
def rg_put(h, query, body, sub, rg):
    if not isinstance(body, dict) or not body.get("location"):
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    d = h.double
    with d.lock:
        existing = d.resource_groups.get(rg.lower())
        if existing and existing["location"].lower() != body["location"].lower():
            raise ArmError(409, "InvalidResourceGroupLocation",
                           f"Invalid resource group location '{body['location']}'. The Resource group already "
                           f"exists in location '{existing['location']}'.")
        name = existing["name"] if existing else rg
        group = {"id": f"/subscriptions/{d.subscription_id}/resourceGroups/{name}", "name": name,
                 "type": "Microsoft.Resources/resourceGroups", "location": body["location"],
                 "tags": body.get("tags") or {}, "properties": {"provisioningState": "Succeeded"}}
        d.resource_groups[rg.lower()] = group
    h._send(200 if existing else 201, group)


@route("DELETE", RG, "ResourceGroups_Delete")
def rg_delete(h, query, body, sub, rg):
    d = h.double
    if rg.lower() not in d.resource_groups:
        return h._send(204)

    def work():
        prefix = f"/subscriptions/{d.subscription_id}/resourcegroups/{rg}/".lower()
        d.resource_groups.pop(rg.lower(), None)
        for store in (d.resources, d.deployments):
            for key in [k for k in store if k.startswith(prefix)]:
                del store[key]
    op, url = h.start_operation("delete", f"{sub}/{rg}", work, f"/subscriptions/{sub}/providers/Microsoft.Resources")
    return h._send(202, None, {"Location": url, **h.retry_after()})


# -- deployments ----------------------------------------------------------------------------------------------

def _dep_scope(h, sub, rg):
    if rg is not None:
        h.double.require_rg(rg)
    return rg


def _props(body) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                     "deserialized: 'properties' is required.")
    props = body["properties"]
    mode = props.get("mode")
    # ARM parses the enum case-insensitively (azure.azcollection sends 'incremental') and echoes its own case.
    canonical = {"incremental": "Incremental", "complete": "Complete"}.get(str(mode).lower())
    if canonical is None:
        raise ArmError(400, "InvalidRequestContent", f"The deployment mode '{mode}' is not valid; use "
                                                     f"'Incremental' or 'Complete'.")
    props["mode"] = canonical
    return props


def dep_get(h, query, body, sub, name, rg=None):
    d = h.double
    rec = d.deployments.get(d.deployment_id(rg, name).lower())
    if rg is not None:
        d.require_rg(rg)
    if rec is None:
        raise ArmError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")
    for op in list(d.operations.values()):
        if op.get("deployment") == rec["id"].lower():
            h.advance(op)
    h._send(200, d.deployments[rec["id"].lower()])


def dep_put(h, query, body, sub, name, rg=None):
    d = h.double
    _dep_scope(h, sub, rg)
    props = _props(body)
    location = body.get("location")
    if rg is None and not location:
        raise ArmError(400, "InvalidDeploymentLocation", "The 'location' property is required for a deployment at "
                                                         "subscription scope.")
    # Template and parameter errors are reported now (400), like ARM's preflight, before anything is accepted.
    with d.lock:
        d.plan(rg, name, props, location, what_if=True)
        rid = d.deployment_id(rg, name).lower()
        running = d.deployments.get(rid)
        if running and running["properties"]["provisioningState"] in ("Accepted", "Running"):
            raise ArmError(409, "DeploymentActive", f"Unable to edit or replace deployment '{name}': previous "
                                                    f"deployment from '{running['properties']['timestamp']}' is "
                                                    f"still active.")
        failure = d.take_fault("PUT", h.path, ("lro_failed",))
        started = time.monotonic()
        correlation = h._correlation

        def work():
            try:
                result = d.apply(rg, name, props, location,
                                 fail_with={"code": failure.get("code", "InjectedFailure"),
                                            "message": failure.get("message", "The resource provider reported a "
                                                                              "failure (injected fault).")}
                                 if failure else None)
            except ArmError as err:
                d.deployments[rid] = d.deployment_record(rg, name, props, None, "Failed", nested_echo=echo,
                                                         location=location, correlation_id=correlation,
                                                         error=err.body()["error"], started=started)
                raise
            d.deployments[rid] = d.deployment_record(rg, name, props, result, "Succeeded",
                                                     nested_echo=result.pop("_echo"), location=location,
                                                     correlation_id=correlation, started=started)
            return d.deployments[rid]

        echo, planned = d.plan(rg, name, props, location, what_if=True)[:2]
        modelled = d.critical_path(planned, rg, location) if d.timing else 0
        record = d.deployment_record(rg, name, props, None, "Accepted", nested_echo=echo, location=location,
                                     correlation_id=correlation)
        existed = rid in d.deployments
        d.deployments[rid] = record
        op, url = h.start_operation("deployment", h.path, work, d.deployment_id(rg, name), modelled)
        op["deployment"] = rid
    h._send(200 if existed else 201, record, {"Azure-AsyncOperation": url, **h.retry_after()})


def dep_delete(h, query, body, sub, name, rg=None):
    d = h.double
    _dep_scope(h, sub, rg)
    rid = d.deployment_id(rg, name).lower()
    if rid not in d.deployments:
        return h._send(204)

    def work():
        d.deployments.pop(rid, None)
    op, url = h.start_operation("delete", h.path, work, d.deployment_id(rg, name))
    return h._send(202, None, {"Location": url, **h.retry_after()})


def dep_validate(h, query, body, sub, name, rg=None):
    d = h.double
    _dep_scope(h, sub, rg)
    props = _props(body)
    with d.lock:
        try:
            echo, planned = d.plan(rg, name, props, body.get("location"), what_if=True)[:2]
        except ArmError as err:
            if err.status == 400:
                raise ArmError(400, "InvalidTemplateDeployment", "The template deployment 'validate' is not "
                                                                 "valid according to the validation procedure.",
                               details=[err.body()["error"]]) from err
            raise
    h._send(200, {"id": d.deployment_id(rg, name), "name": name, "type": "Microsoft.Resources/deployments",
                  "properties": {"provisioningState": "Succeeded", "mode": props["mode"], "parameters": echo,
                                 "templateHash": template_hash(props["template"]),
                                 "validatedResources": [{"id": p.id} for p in planned],
                                 "correlationId": h._correlation, "timestamp": now_iso()}})


def dep_what_if(h, query, body, sub, name, rg=None):
    d = h.double
    _dep_scope(h, sub, rg)
    props = _props(body)
    with d.lock:
        changes = d.what_if(rg, name, props, body.get("location"))  # errors come back at once, like ARM

    def work():
        return {"status": "Succeeded", "properties": {"changes": changes}}
    op, url = h.start_operation("whatif", h.path, work, d.deployment_id(rg, name),
                                d.timing["what_if_seconds"] if d.timing else 0)
    h._send(202, None, {"Location": url, **h.retry_after()})


for _prefix, _suffix in ((RG, "ResourceGroup"), (SUB, "Subscription")):
    _names = {"ResourceGroup": "", "Subscription": "AtSubscriptionScope"}[_suffix]
    route("GET", _prefix + DEP, f"Deployments_Get{_names}")(dep_get)
    route("PUT", _prefix + DEP, f"Deployments_CreateOrUpdate{_names}")(dep_put)
    route("DELETE", _prefix + DEP, f"Deployments_Delete{_names}")(dep_delete)
    route("POST", _prefix + DEP + "/validate", f"Deployments_Validate{_names}")(dep_validate)
    route("POST", _prefix + DEP + "/whatIf", f"Deployments_WhatIf{_names}")(dep_what_if)


@route("GET", SUB + r"(?:/resourcegroups/[^/]+)?/providers/Microsoft\.Resources(?:/deployments/[^/]+)?"
       r"/operationStatuses/(?P<op>[^/]+)", "Operations_Poll")
def op_poll(h, query, body, sub, op):
    d = h.double
    operation = d.operations.get(op)
    if operation is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{op}' could not be found.")
    h.advance(operation)
    if operation["kind"] == "deployment":  # Azure-AsyncOperation: a status body, 200 always
        status = {"id": h.path.split("?")[0], "name": op, "status": operation["status"]}
        if operation["error"]:
            status["error"] = operation["error"]
        return h._send(200, status, h.retry_after() if operation["status"] == "Running" else None)
    # Location polling: 202 while running, then the result (200) or 204, or the error with its status
    if operation["status"] == "Running":
        return h._send(202, None, {"Location": f"{h.base}{h.path}", **h.retry_after()})
    if operation["status"] == "Failed":
        return h._send(400, {"error": operation["error"]})
    if operation["result"] is None:
        return h._send(204)
    return h._send(200, operation["result"])


# -- managed clusters -----------------------------------------------------------------------------------------

def _cluster(h, sub, rg, cluster):
    d = h.double
    d.require_rg(rg)
    rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{cluster}"
    body = d.resource_body(rid) if rid.lower() in d.resources else None
    if body is None:
        raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.ContainerService/managedClusters/{cluster}'"
                                                f" under resource group '{rg}' was not found. For more details please "
                                                f"go to https://aka.ms/ARMResourceNotFoundFix")
    return body


@route("GET", MC, "ManagedClusters_Get")
def mc_get(h, query, body, sub, rg, cluster):
    h._send(200, _cluster(h, sub, rg, cluster))


def kubeconfig_for(h, cluster: dict, rg: str, admin: bool) -> bytes:
    """The kwok cluster's kubeconfig, renamed the way AKS names its contexts and users."""
    import yaml  # PyYAML is a test requirement; imported here so the double starts without it when unused
    source = h.double.cfg.get("kubeconfig")
    if not source or not Path(source).exists():
        raise ArmError(500, "InternalServerError", "The ARM test double has no kwok kubeconfig (start the kube "
                                                   "component first).")
    kube = yaml.safe_load(Path(source).read_text())
    ctx_src = next(c for c in kube["contexts"] if c["name"] == kube.get("current-context")) \
        if kube.get("current-context") else kube["contexts"][0]
    cluster_src = next(c for c in kube["clusters"] if c["name"] == ctx_src["context"]["cluster"])
    user_src = next(u for u in kube["users"] if u["name"] == ctx_src["context"]["user"])
    name = cluster["name"]
    user_name = f"cluster{'Admin' if admin else 'User'}_{rg}_{name}"
    context = f"{name}-admin" if admin else name

    def inline(section: dict, keys):
        out = dict(section)
        for key in keys:
            if key in out:
                out[f"{key}-data"] = base64.b64encode(Path(out.pop(key)).read_bytes()).decode()
        return out
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": inline(cluster_src["cluster"], ["certificate-authority"])}],
        "users": [{"name": user_name, "user": inline(user_src["user"], ["client-certificate", "client-key"])}],
        "contexts": [{"name": context, "context": {"cluster": name, "user": user_name}}],
        "current-context": context,
    }
    return yaml.safe_dump(doc, sort_keys=False).encode()


def _credentials(h, sub, rg, cluster, admin):
    body = _cluster(h, sub, rg, cluster)
    props = body.get("properties") or {}
    if admin and props.get("disableLocalAccounts"):
        raise ArmError(400, "BadRequest", "Getting static credential is not allowed because this cluster is set to "
                                          "disable local accounts.")
    value = base64.b64encode(kubeconfig_for(h, body, rg, admin)).decode()
    h._send(200, {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser", "value": value}]})


@route("POST", MC + "/listClusterUserCredential", "ManagedClusters_ListClusterUserCredentials")
def mc_user(h, query, body, sub, rg, cluster):
    _credentials(h, sub, rg, cluster, admin=False)


@route("POST", MC + "/listClusterAdminCredential", "ManagedClusters_ListClusterAdminCredentials")
def mc_admin(h, query, body, sub, rg, cluster):
    _credentials(h, sub, rg, cluster, admin=True)


# -- resource providers and generic resources by id -----------------------------------------------------------

# Types and api-versions the double's providers register (a subset of Azure's lists), besides the type and
# apiVersion of every resource it holds. Providers_Get shape: azure-rest-api-specs Microsoft.Resources.
PROVIDER_TYPES = {
    "Microsoft.Authorization": {"roleAssignments": ["2020-04-01-preview", "2022-04-01"]},
    "Microsoft.Compute": {"disks": ["2023-10-02", "2024-03-02"]},
    "Microsoft.ContainerService": {"managedClusters": ["2025-08-01", "2025-10-01"],
                                   "managedClusters/agentPools": ["2025-08-01", "2025-10-01"]},
    "Microsoft.Insights": {"dataCollectionRules": ["2022-06-01", "2023-03-11"],
                           "dataCollectionRuleAssociations": ["2022-06-01", "2023-03-11"]},
    "Microsoft.KeyVault": {"vaults": ["2024-11-01", "2025-05-01"], "vaults/secrets": ["2024-11-01", "2025-05-01"]},
    "Microsoft.ManagedIdentity": {
        "userAssignedIdentities": ["2023-01-31", "2024-11-30"],
        "userAssignedIdentities/federatedIdentityCredentials": ["2023-01-31", "2024-11-30"]},
    "Microsoft.Network": {"virtualNetworks": ["2024-05-01", "2024-07-01"],
                          "virtualNetworks/subnets": ["2024-05-01", "2024-07-01"],
                          "networkSecurityGroups": ["2024-05-01", "2024-07-01"],
                          "privateEndpoints": ["2024-05-01", "2024-07-01"]},
    "Microsoft.OperationalInsights": {"workspaces": ["2023-09-01", "2025-02-01"]},
    "Microsoft.Storage": {"storageAccounts": ["2025-01-01", "2025-06-01"],
                          "storageAccounts/blobServices": ["2025-01-01", "2025-06-01"],
                          "storageAccounts/blobServices/containers": ["2025-01-01", "2025-06-01"]},
}
# The Network RP refuses to delete what another network or AKS resource still uses (HTTP 400, not 409).
_IN_USE_CODES = {"virtualnetworks": "InUseSubnetCannotBeDeleted", "subnets": "InUseSubnetCannotBeDeleted",
                 "networksecuritygroups": "InUseNetworkSecurityGroupCannotBeDeleted"}


def split_type(rid: str) -> tuple:
    """(namespace, type path) of a resource id, from its last /providers/ segment (extension resources too)."""
    tail = rid[rid.lower().rindex("/providers/") + len("/providers/"):].split("/")
    return tail[0], "/".join(tail[1::2])


def provider_types(d: Double, namespace: str) -> dict | None:
    """{type path: {"name": canonical, "versions": set}} the provider registers, or None for no such provider."""
    known = next((ns for ns in PROVIDER_TYPES if ns.lower() == namespace.lower()), None)
    types = {t.lower(): {"name": t, "versions": set(v)} for t, v in PROVIDER_TYPES.get(known, {}).items()}
    for rec in d.resources.values():
        body = rec["requested"]
        ns, path = body["type"].split("/", 1)
        if ns.lower() == namespace.lower():
            known = known or ns
            types.setdefault(path.lower(), {"name": path, "versions": set()})["versions"].add(body.get("apiVersion"))
    return None if known is None else {"namespace": known, "types": types}


@route("GET", SUB + r"/providers/(?P<namespace>[^/]+)", "Providers_Get")
def provider_get(h, query, body, sub, namespace):
    info = provider_types(h.double, namespace)
    if info is None:
        raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
    h._send(200, {
        "id": f"/subscriptions/{sub}/providers/{info['namespace']}", "namespace": info["namespace"],
        "registrationState": "Registered", "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [{"resourceType": t["name"], "locations": ["West Europe", "North Europe"],
                           "apiVersions": sorted((v for v in t["versions"] if v), reverse=True)}
                          for t in info["types"].values()]})


def _generic(h, query, sub, rg, rest) -> str:
    """The resource id of a generic request, after ARM's checks: group exists, api-version registered."""
    d = h.double
    d.require_rg(rg)
    rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{rest}"
    namespace, path = split_type(rid)
    info = provider_types(d, namespace)
    entry = (info or {"types": {}})["types"].get(path.lower())
    version = query.get("api-version")
    if entry is None or version not in entry["versions"]:
        supported = "', '".join(sorted((v for v in (entry or {"versions": set()})["versions"] if v), reverse=True))
        raise ArmError(400, "NoRegisteredProviderFound",
                       f"No registered resource provider found for location 'westeurope' and API version "
                       f"'{version}' for type '{path}'. The supported api-versions are '{supported}'.")
    return rid


def _not_found(rid: str, rg: str) -> ArmError:
    namespace, path = split_type(rid)
    return ArmError(404, "ResourceNotFound", f"The Resource '{namespace}/{path.split('/', 1)[0]}/"
                                             f"{rid.rsplit('/', 1)[-1]}' under resource group '{rg}' was not "
                                             f"found. For more details please go to "
                                             f"https://aka.ms/ARMResourceNotFoundFix")


def in_use_by(d: Double, rid: str):
    """The id of a network or AKS resource whose properties refer to rid (or to what is below it), for a
    Network resource; None when nothing outside rid uses it."""
    key = rid.lower()
    if not split_type(rid)[0].lower() == "microsoft.network":
        return None
    pattern = re.compile(re.escape(key) + r'(?=["/])')
    for other, rec in d.resources.items():
        if other == key or other.startswith(key + "/"):
            continue
        if not rec["requested"]["type"].lower().startswith(("microsoft.network/", "microsoft.containerservice/")):
            continue
        if pattern.search(json.dumps(rec["requested"].get("properties") or {}).lower()):
            return rec["requested"]["id"]
    return None


@route("GET", RG + r"/providers/(?P<rest>.+)", "Resources_GetById")
def resource_get(h, query, body, sub, rg, rest):
    rid = _generic(h, query, sub, rg, rest)
    if rid.lower() not in h.double.resources:
        raise _not_found(rid, rg)
    h._send(200, h.double.resource_body(rid))


@route("DELETE", RG + r"/providers/(?P<rest>.+)", "Resources_DeleteById")
def resource_delete(h, query, body, sub, rg, rest):
    d = h.double
    with d.lock:
        rid = _generic(h, query, sub, rg, rest)
        key = rid.lower()
        if key not in d.resources:
            return h._send(204)
        user = in_use_by(d, rid)
        if user:
            code = _IN_USE_CODES.get(split_type(rid)[1].rsplit("/", 1)[-1].lower(), "InUseResourceCannotBeDeleted")
            raise ArmError(400, code, f"Resource {rid} is in use by {user} and cannot be deleted.")

        def work():  # child resources and extension resources scoped to it go with it, as in ARM
            for held in [k for k in d.resources if k == key or k.startswith(key + "/")]:
                del d.resources[held]
        op, url = h.start_operation("delete", h.path, work, f"/subscriptions/{sub}/providers/Microsoft.Resources")
    return h._send(202, None, {"Location": url, **h.retry_after()})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="JSON written by the arm component")
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    Handler.double = Double(config)
    server = ThreadingHTTPServer(("127.0.0.1", config["port"]), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(config["cert_file"], config["key_file"])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    print(f"ARM test double listening on {config['endpoint']}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
