"""Resource providers (Providers_Get) and generic resources by id (Resources_GetById, Resources_DeleteById)."""

from __future__ import annotations

import json
import re

from .errors import ArmError
from .routing import RG, SUB


# Types and api-versions the double's providers register (a subset of Azure's lists), besides the type and
# apiVersion of every resource it holds. Providers_Get shape: azure-rest-api-specs Microsoft.Resources.
PROVIDER_TYPES = {
    "Microsoft.AlertsManagement": {"prometheusRuleGroups": ["2021-07-22-preview", "2023-03-01"]},
    "Microsoft.Authorization": {"roleAssignments": ["2020-04-01-preview", "2022-04-01"]},
    "Microsoft.Compute": {"disks": ["2023-10-02", "2024-03-02"]},
    "Microsoft.ContainerService": {"managedClusters": ["2025-08-01", "2025-10-01"],
                                   "managedClusters/agentPools": ["2025-08-01", "2025-10-01"]},
    "Microsoft.Dashboard": {"grafana": ["2024-10-01", "2025-08-01"]},
    "Microsoft.Insights": {"dataCollectionRules": ["2022-06-01", "2023-03-11", "2024-03-11"],
                           "dataCollectionRuleAssociations": ["2022-06-01", "2023-03-11", "2024-03-11"],
                           "dataCollectionEndpoints": ["2023-03-11", "2024-03-11"],
                           "diagnosticSettings": ["2021-05-01-preview"],
                           "actionGroups": ["2022-06-01", "2023-01-01"]},
    "Microsoft.KeyVault": {"vaults": ["2024-11-01", "2025-05-01"], "vaults/secrets": ["2024-11-01", "2025-05-01"]},
    "Microsoft.ManagedIdentity": {
        "userAssignedIdentities": ["2023-01-31", "2024-11-30"],
        "userAssignedIdentities/federatedIdentityCredentials": ["2023-01-31", "2024-11-30"]},
    "Microsoft.Network": {"virtualNetworks": ["2024-05-01", "2024-07-01"],
                          "virtualNetworks/subnets": ["2024-05-01", "2024-07-01"],
                          "networkSecurityGroups": ["2024-05-01", "2024-07-01"],
                          "privateEndpoints": ["2024-05-01", "2024-07-01"]},
    "Microsoft.Monitor": {"accounts": ["2023-04-03", "2025-10-03"]},
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


def provider_types(d, namespace: str) -> dict | None:
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


def provider_get(h, query, body, sub, namespace):
    info = provider_types(h.double, namespace)
    if info is None:
        raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
    h.reply(200, {
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


def in_use_by(d, rid: str):
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


def resource_get(h, query, body, sub, rg, rest):
    rid = _generic(h, query, sub, rg, rest)
    if rid.lower() not in h.double.resources:
        raise _not_found(rid, rg)
    h.reply(200, h.double.resource_body(rid))


def resource_delete(h, query, body, sub, rg, rest):
    d = h.double
    with d.lock:
        rid = _generic(h, query, sub, rg, rest)
        key = rid.lower()
        if key not in d.resources:
            return h.reply(204)
        user = in_use_by(d, rid)
        if user:
            code = _IN_USE_CODES.get(split_type(rid)[1].rsplit("/", 1)[-1].lower(), "InUseResourceCannotBeDeleted")
            raise ArmError(400, code, f"Resource {rid} is in use by {user} and cannot be deleted.")

        def work():  # child resources and extension resources scoped to it go with it, as in ARM
            for held in [k for k in d.resources if k == key or k.startswith(key + "/")]:
                del d.resources[held]
        url = h.start_operation("delete", h.path, work, f"/subscriptions/{sub}/providers/Microsoft.Resources")[1]
    return h.reply(202, None, {"Location": url, **h.retry_after()})


def register(router) -> None:
    router.add("GET", SUB + r"/providers/(?P<namespace>[^/]+)", "Providers_Get", provider_get)
    router.add("GET", RG + r"/providers/(?P<rest>.+)", "Resources_GetById", resource_get)
    router.add("DELETE", RG + r"/providers/(?P<rest>.+)", "Resources_DeleteById", resource_delete)
