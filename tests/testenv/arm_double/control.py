"""The test control API under /_testenv/ (no token needed): request log, counters, faults, reset, state, timing."""

from __future__ import annotations

import json
import uuid

from . import entra
from .state import merge


def handle(h, path, query, raw):
    d = h.double
    body = json.loads(raw) if raw else {}
    if path.startswith("/_testenv/entra/"):
        return entra.control(h, path, body)
    with d.lock:
        if path == "/_testenv/requests" and h.command == "GET":
            since = int(query.get("since", 0))
            return h.reply(200, {"requests": [e for e in d.log if e["seq"] > since], "last": d.seq})
        if path == "/_testenv/counters" and h.command == "GET":
            return h.reply(200, {"counters": dict(d.counters), "total": sum(d.counters.values()),
                                 "last": d.seq})
        if path == "/_testenv/reset" and h.command == "POST":
            d.log.clear()
            d.counters.clear()
            d.faults.clear()
            d.timing = None
            if body.get("state"):
                d.resource_groups.clear()
                d.resources.clear()
                d.deployments.clear()
                d.operations.clear()
            return h.reply(200, {"reset": True})
        if path == "/_testenv/faults" and h.command == "POST":
            kinds = ("throttle", "error", "lro_failed", "slow_lro")
            if body.get("kind") not in kinds:
                return h.reply(400, {"error": f"kind must be one of {kinds}"})
            fault = {"id": str(uuid.uuid4()), "remaining": int(body.get("count", 1)), "fired": 0, **body}
            d.faults.append(fault)
            return h.reply(201, fault)
        if path == "/_testenv/faults" and h.command == "GET":
            return h.reply(200, {"faults": d.faults})
        if path == "/_testenv/faults" and h.command == "DELETE":
            d.faults.clear()
            return h.reply(200, {"faults": []})
        if path == "/_testenv/timing" and h.command == "POST":
            try:
                return h.reply(200, d.set_timing(body))
            except (TypeError, ValueError) as err:
                return h.reply(400, {"error": str(err)})
        if path == "/_testenv/timing" and h.command == "GET":
            return h.reply(200, d.timing or {"profile": "instant"})
        if path == "/_testenv/timing" and h.command == "DELETE":
            d.timing = None
            return h.reply(200, {"profile": "instant"})
        if path == "/_testenv/state" and h.command == "GET":
            return h.reply(200, {"resourceGroups": list(d.resource_groups.values()),
                                 "resources": [d.resource_body(k) for k in d.resources],
                                 "deployments": list(d.deployments.values())})
        if path == "/_testenv/resources" and h.command == "PATCH":
            # A change behind the deployment's back (portal, CLI): merged into the held resource's properties.
            rec = d.resources.get(str(body.get("id", "")).lower())
            if rec is None or not isinstance(body.get("properties"), dict):
                return h.reply(404 if rec is None else 400,
                               {"error": "body: {id: <held resource id>, properties: {...}}"})
            rec["requested"]["properties"] = merge(rec["requested"].get("properties") or {}, body["properties"])
            return h.reply(200, d.resource_body(body["id"]))
    return h.reply(404, {"error": f"unknown control endpoint {h.command} {path}"})
