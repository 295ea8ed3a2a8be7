"""Deployments at resource-group and subscription scope: PUT, GET, DELETE, validate, what-if, and the polling of
their long-running operations."""

from __future__ import annotations

import time

from .errors import ArmError, now_iso
from .routing import DEP, RG, SUB
from .template_engine import template_hash

OPERATION_STATUS = (SUB + r"(?:/resourcegroups/[^/]+)?/providers/Microsoft\.Resources(?:/deployments/[^/]+)?"
                    r"/operationStatuses/(?P<op>[^/]+)")


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
    h.reply(200, d.deployments[rec["id"].lower()])


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
        correlation = h.correlation

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
    h.reply(200 if existed else 201, record, {"Azure-AsyncOperation": url, **h.retry_after()})


def dep_delete(h, query, body, sub, name, rg=None):
    d = h.double
    _dep_scope(h, sub, rg)
    rid = d.deployment_id(rg, name).lower()
    if rid not in d.deployments:
        return h.reply(204)

    def work():
        d.deployments.pop(rid, None)
    url = h.start_operation("delete", h.path, work, d.deployment_id(rg, name))[1]
    return h.reply(202, None, {"Location": url, **h.retry_after()})


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
    h.reply(200, {"id": d.deployment_id(rg, name), "name": name, "type": "Microsoft.Resources/deployments",
                  "properties": {"provisioningState": "Succeeded", "mode": props["mode"], "parameters": echo,
                                 "templateHash": template_hash(props["template"]),
                                 "validatedResources": [{"id": p.id} for p in planned],
                                 "correlationId": h.correlation, "timestamp": now_iso()}})


def dep_what_if(h, query, body, sub, name, rg=None):
    d = h.double
    _dep_scope(h, sub, rg)
    props = _props(body)
    with d.lock:
        result = d.what_if(rg, name, props, body.get("location"))  # errors come back at once, like ARM

    def work():
        return {"status": "Succeeded", "properties": result}
    url = h.start_operation("whatif", h.path, work, d.deployment_id(rg, name),
                            d.timing["what_if_seconds"] if d.timing else 0)[1]
    h.reply(202, None, {"Location": url, **h.retry_after()})


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
        return h.reply(200, status, h.retry_after() if operation["status"] == "Running" else None)
    # Location polling: 202 while running, then the result (200) or 204, or the error with its status
    if operation["status"] == "Running":
        return h.reply(202, None, {"Location": f"{h.base}{h.path}", **h.retry_after()})
    if operation["status"] == "Failed":
        return h.reply(400, {"error": operation["error"]})
    if operation["result"] is None:
        return h.reply(204)
    return h.reply(200, operation["result"])


def register(router) -> None:
    for prefix, suffix in ((RG, ""), (SUB, "AtSubscriptionScope")):
        router.add("GET", prefix + DEP, f"Deployments_Get{suffix}", dep_get)
        router.add("PUT", prefix + DEP, f"Deployments_CreateOrUpdate{suffix}", dep_put)
        router.add("DELETE", prefix + DEP, f"Deployments_Delete{suffix}", dep_delete)
        router.add("POST", prefix + DEP + "/validate", f"Deployments_Validate{suffix}", dep_validate)
        router.add("POST", prefix + DEP + "/whatIf", f"Deployments_WhatIf{suffix}", dep_what_if)
    router.add("GET", OPERATION_STATUS, "Operations_Poll", op_poll)
