"""managedClusters: GET and the user/admin credential lists (the kwok cluster's kubeconfig, renamed as AKS names it).

The admin list answers the kwok cluster's client-certificate kubeconfig (the tests' own set-up). The user list of
an Entra ID cluster (aadProfile) in a resource group switched on through POST /_testenv/entra/exec-kubeconfig
answers what AKS answers: the cluster's server and CA, and a user running `kubelogin get-token` in device-code
mode for the AKS server application; no client certificate. The shared double switches on the resource group of
inventories/local from its start (components/arm.py LOCAL_RESOURCE_GROUP); other resource groups get the
certificate kubeconfig unless a test switches them on."""

from __future__ import annotations

import base64
from pathlib import Path

from . import entra
from .errors import ArmError
from .routing import MC

AKS_SERVER_APP_ID = entra.AKS_SERVER_APP_ID
AZURE_CLI_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"  # the client AKS's user kubeconfig names
KUBELOGIN_HINT = ("\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
                  "To learn more, please go to https://aka.ms/aks/kubelogin\n")


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


def mc_get(h, query, body, sub, rg, cluster):
    h.reply(200, _cluster(h, sub, rg, cluster))


def kubelogin_user(h) -> dict:
    """The user of an AKS Entra ID cluster's user kubeconfig (kubelogin, device-code login)."""
    return {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
        "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_SERVER_APP_ID,
                 "--client-id", AZURE_CLI_CLIENT_ID, "--tenant-id", h.double.tenant_id, "--login", "devicecode"],
        "env": None, "installHint": KUBELOGIN_HINT, "provideClusterInfo": False}}


def kubeconfig_for(h, cluster: dict, rg: str, admin: bool, exec_user: bool = False) -> bytes:
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
        "users": [{"name": user_name, "user": kubelogin_user(h) if exec_user else
                   inline(user_src["user"], ["client-certificate", "client-key"])}],
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
    exec_user = (not admin and bool(props.get("aadProfile"))
                 and rg.lower() in entra.state(h.double)["exec_kubeconfig_resource_groups"])
    value = base64.b64encode(kubeconfig_for(h, body, rg, admin, exec_user)).decode()
    h.reply(200, {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser", "value": value}]})


def mc_user(h, query, body, sub, rg, cluster):
    _credentials(h, sub, rg, cluster, admin=False)


def mc_admin(h, query, body, sub, rg, cluster):
    _credentials(h, sub, rg, cluster, admin=True)


def register(router) -> None:
    router.add("GET", MC, "ManagedClusters_Get", mc_get)
    router.add("POST", MC + "/listClusterUserCredential", "ManagedClusters_ListClusterUserCredentials", mc_user)
    router.add("POST", MC + "/listClusterAdminCredential", "ManagedClusters_ListClusterAdminCredentials", mc_admin)
