"""What-if: the changes a deployment request would make, compared with what the double holds."""

from __future__ import annotations

import copy

from .engine import DeploymentEngine
from .errors import ArmError
from .template_engine import Unresolvable

DEPLOYMENT_TYPE = "microsoft.resources/deployments"
# Properties ARM compares in what-if (identity fields and apiVersion are not changes).
_NOT_COMPARED = {"id", "name", "type", "apiVersion"}
# ARM's reason for a resource whose id needs a runtime value (WhatIfChange.unsupportedReason).
UNRESOLVED_ID_REASON = ("Changes to the resource cannot be analyzed because its resource ID cannot be calculated "
                        "until deployment is under way.")


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


def _comparable(body):
    if body is None:
        return None
    return {k: v for k, v in body.items() if k not in _NOT_COMPARED}


class WhatIf(DeploymentEngine):
    """The engine with what-if: the changes a deployment request would make.

    Like ARM: nested deployments (Bicep modules) are expanded and their resources belong to the template (a
    resource is listed once, with the id of the deployment that deploys it); resources held in a target group
    that no deployment of the template names are Ignore (Incremental) or Delete (Complete), once, after the whole
    tree is walked. A nested deployment whose parameters are not fully evaluated without running anything
    (reference(), list*(), another deployment's outputs) or whose own name, group or condition needs a runtime
    value is short-circuited: its resources are not evaluated (held ones show as Ignore) and the result carries
    ARM's NestedDeploymentShortCircuited diagnostic naming it."""

    def what_if(self, rg_name, deployment_name, props, location) -> dict:
        """WhatIfOperationResult properties for a deployment request: {changes, diagnostics?}."""
        changes, diagnostics, seen = [], [], set()
        scopes: dict = {}  # resource group (lower) -> [name, mode, short-circuited], in walk order
        planned_rgs: dict = {}

        def walk(rg, name, p, loc):
            deployment_id = self.deployment_id(rg, name)
            if rg:
                scopes.setdefault(rg.lower(), [rg, (p.get("mode") or "Incremental").lower(), False])
            planned, ev = self.plan(rg, name, p, loc, what_if=True)[1:]
            for res in planned:
                if res.body["type"].lower() == DEPLOYMENT_TYPE:
                    target_rg = self._nested_rg(res, rg)
                    if res.unresolved or runtime_parameters(ev, res):
                        diagnostics.append(short_circuited(res.id))
                        scopes.setdefault((target_rg or "").lower(), [target_rg, "incremental", False])[2] = True
                        continue
                    self._walk_nested(walk, res, rg, loc, planned_rgs)
                    continue
                if res.unresolved:
                    changes.append({"resourceId": res.id, "deploymentId": deployment_id, "changeType": "Unsupported",
                                    "unsupportedReason": UNRESOLVED_ID_REASON})
                    continue
                seen.add(res.id.lower())
                changes.append(self._resource_change(res, deployment_id, planned_rgs))

        walk(rg_name, deployment_name, props, location)
        for key, (rg, mode, short_circuit) in scopes.items():
            if not rg:
                continue
            # What a short-circuited module deploys is unknown, so nothing in its group is said to go.
            change_type = "Delete" if mode == "complete" and not short_circuit else "Ignore"
            prefix = f"/subscriptions/{self.subscription_id}/resourcegroups/{key}/"
            for held, rec in sorted(self.resources.items()):
                if held.startswith(prefix) and held not in seen and held.count("/providers/") == 1:
                    changes.append({"resourceId": rec["requested"]["id"], "changeType": change_type,
                                    "before": self.resource_body(held)})
                    seen.add(held)
        result = {"changes": changes}
        if diagnostics:
            result["diagnostics"] = diagnostics
        return result

    def _walk_nested(self, walk, res, rg, loc, planned_rgs) -> None:
        nested = self._nested_props(res)
        target_rg = self._nested_rg(res, rg)
        if target_rg and target_rg.lower() not in self.resource_groups and target_rg.lower() not in planned_rgs:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{target_rg}' could not be found.",
                           target=res.id)
        if target_rg and target_rg.lower() in planned_rgs and target_rg.lower() not in self.resource_groups:
            # The group does not exist yet: everything in it would be created; evaluate against a provisional
            # group so names and ids resolve.
            self.resource_groups[target_rg.lower()] = planned_rgs[target_rg.lower()]
            try:
                walk(target_rg, res.body["name"], nested, loc)
            finally:
                self.resource_groups.pop(target_rg.lower(), None)
        else:
            walk(target_rg, res.body["name"], nested, loc)

    def _resource_change(self, res, deployment_id, planned_rgs) -> dict:
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
        change = {"resourceId": res.id, "deploymentId": deployment_id}
        if res.symbolic:
            change["symbolicName"] = res.symbolic
        if before is None:
            return {**change, "changeType": "Create", "after": after}
        delta = property_delta(_comparable(before_req), _comparable(after))
        change.update(changeType="Modify" if delta else "NoChange", before=before, after=after)
        if delta:
            change["delta"] = delta
        return change


def runtime_parameters(ev, res) -> bool:
    """Whether a nested deployment's parameters need a runtime value (ARM's what-if does not evaluate them)."""
    raw = (res.raw.get("properties") or {}).get("parameters") or {}
    saved_index, saved_defer = dict(ev.copy_index), ev.defer_runtime
    ev.copy_index.clear()
    ev.copy_index.update(res.copy_index)
    ev.defer_runtime = True
    try:
        ev.evaluate(raw)
    except Unresolvable:
        return True
    finally:
        ev.defer_runtime = saved_defer
        ev.copy_index.clear()
        ev.copy_index.update(saved_index)
    return False


def short_circuited(deployment_id: str) -> dict:
    """ARM's diagnostic (DeploymentDiagnosticsDefinition) for a nested deployment what-if skipped."""
    return {"level": "Warning", "code": "NestedDeploymentShortCircuited", "target": deployment_id,
            "message": "A nested deployment got short-circuited and all its resources got skipped from validation. "
                       "This is due to a nested template having a parameter that was not fully evaluated (e.g. "
                       "contains a reference() function). Please see https://aka.ms/WhatIfEvalStopped for more "
                       "guidance."}
