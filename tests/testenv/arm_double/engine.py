"""The deployment engine: plans a deployment request with the template evaluator, applies it to the held state
(nested deployments included) and writes ARM's deployment records."""

from __future__ import annotations

import copy
import time
import uuid

from .errors import ArmError, now_iso, template_error
from .state import Store, readonly_properties
from .template_engine import (
    Evaluator, Scope, TemplateError, bind_parameters, check_template_shape, evaluate_outputs, expand_resources,
    order_by_dependencies, reevaluate, resolve_identity, template_hash)

DEPLOYMENT_TYPE = "microsoft.resources/deployments"


class DeploymentEngine(Store):
    """The deployment engine over the store: plan, apply, deployment ids and records."""

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
            try:
                if res.unresolved and not resolve_identity(ev, res):
                    continue  # its condition, known only now, is false
                kind = res.body["type"].lower()
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
