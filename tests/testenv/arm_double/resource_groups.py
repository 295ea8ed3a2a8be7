"""Resource groups: GET, HEAD, PUT, DELETE (202 + Location)."""

from __future__ import annotations

from .errors import ArmError
from .routing import RG


def rg_get(h, query, body, sub, rg):
    h.reply(200, h.double.require_rg(rg))


def rg_head(h, query, body, sub, rg):
    h.reply(204 if rg.lower() in h.double.resource_groups else 404)


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
    h.reply(200 if existing else 201, group)


def rg_delete(h, query, body, sub, rg):
    d = h.double
    if rg.lower() not in d.resource_groups:
        return h.reply(204)

    def work():
        prefix = f"/subscriptions/{d.subscription_id}/resourcegroups/{rg}/".lower()
        d.resource_groups.pop(rg.lower(), None)
        for store in (d.resources, d.deployments):
            for key in [k for k in store if k.startswith(prefix)]:
                del store[key]
    url = h.start_operation("delete", f"{sub}/{rg}", work, f"/subscriptions/{sub}/providers/Microsoft.Resources")[1]
    return h.reply(202, None, {"Location": url, **h.retry_after()})


def register(router) -> None:
    router.add("GET", RG, "ResourceGroups_Get", rg_get)
    router.add("HEAD", RG, "ResourceGroups_CheckExistence", rg_head)
    router.add("PUT", RG, "ResourceGroups_CreateOrUpdate", rg_put)
    router.add("DELETE", RG, "ResourceGroups_Delete", rg_delete)
