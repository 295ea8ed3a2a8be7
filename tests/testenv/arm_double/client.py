"""Test-side helpers for the ARM test double: its control API (request log, counters, faults) and the
module options that point the collection's Azure modules at it."""

from __future__ import annotations

import json
import ssl
import urllib.request

ARM_WRITE_METHODS = {"PUT", "PATCH", "DELETE"}
# Read-only POSTs: what-if and the credential listing change nothing on the ARM side.
ARM_READ_POSTS = ("/whatIf", "/listClusterUserCredential", "/listClusterAdminCredential")


def module_defaults(env: dict) -> dict:
    """Auth options for `module_defaults: group/neo4j_azure.aks.azure` (the real ClientSecretCredential path)."""
    return {
        "auth_source": "service_principal",
        "client_id": env["TESTENV_AZURE_CLIENT_ID"],
        "secret": env["TESTENV_AZURE_CLIENT_SECRET"],
        "tenant": env["TESTENV_AZURE_TENANT_ID"],
        "subscription_id": env["TESTENV_AZURE_SUBSCRIPTION_ID"],
        "endpoint_override": {
            "resource_manager": env["TESTENV_ARM_ENDPOINT"],
            "authority": env["TESTENV_AZURE_AUTHORITY"],
            "ca_bundle": env["TESTENV_ARM_CA_BUNDLE"],
        },
    }


def azure_credential_env(env: dict) -> dict:
    """The service principal in the variables an AWX Azure credential injects into a job (README, AWX): what
    kubelogin's spn login reads when a Kubernetes task of a run on inventories/local runs."""
    return {"AZURE_CLIENT_ID": env["TESTENV_AZURE_CLIENT_ID"],
            "AZURE_CLIENT_SECRET": env["TESTENV_AZURE_CLIENT_SECRET"],
            "AZURE_TENANT_ID": env["TESTENV_AZURE_TENANT_ID"]}


class ArmDoubleClient:
    def __init__(self, env: dict):
        self.endpoint = env["TESTENV_ARM_ENDPOINT"]
        self.tls = ssl.create_default_context(cafile=env["TESTENV_ARM_CA_BUNDLE"])

    def call(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.tls, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def counters(self) -> dict:
        return self.call("GET", "/_testenv/counters")["counters"]

    def requests(self, since: int = 0) -> list:
        return self.call("GET", "/_testenv/requests?since=%d" % since)["requests"]

    def group_requests(self, resource_group: str, since: int = 0) -> list:
        """The requests since `since` that name one resource group (other tests share the double)."""
        marker = f"/resourcegroups/{resource_group.lower()}"
        return [r for r in self.requests(since) if marker in r["path"].lower()]

    def group_writes(self, resource_group: str, since: int = 0) -> list:
        """The requests since `since` that could change something in one resource group (read-only POSTs aside)."""
        return [r for r in self.group_requests(resource_group, since) if r["method"] in ARM_WRITE_METHODS
                or (r["method"] == "POST" and not r["path"].split("?")[0].endswith(ARM_READ_POSTS))]

    def last_seq(self) -> int:
        return self.call("GET", "/_testenv/counters")["last"]

    def reset(self, state: bool = False) -> None:
        self.call("POST", "/_testenv/reset", {"state": state})

    def fault(self, kind: str, **spec) -> dict:
        """kind: throttle (429 + Retry-After), error (status, default 500), lro_failed, slow_lro (seconds)."""
        return self.call("POST", "/_testenv/faults", {"kind": kind, **spec})

    def faults(self) -> list:
        return self.call("GET", "/_testenv/faults")["faults"]

    def clear_faults(self) -> None:
        self.call("DELETE", "/_testenv/faults")

    def state(self) -> dict:
        return self.call("GET", "/_testenv/state")

    def change_resource(self, rid: str, properties: dict) -> dict:
        """Change a held resource's properties out of band (as in the portal): deep-merged, no deployment."""
        return self.call("PATCH", "/_testenv/resources", {"id": rid, "properties": properties})

    def held(self, rg_name: str) -> tuple[set, set]:
        """What the double holds in a resource group: resource ids (their path below the group), deployment names."""
        state = self.state()
        resources = {r["id"].split(f"/resourceGroups/{rg_name}", 1)[1] for r in state["resources"]
                     if f"/resourceGroups/{rg_name}/" in r["id"]}
        deployments = {d["name"] for d in state["deployments"] if f"/resourceGroups/{rg_name}/" in d["id"]}
        return resources, deployments


def count_ops(requests: list) -> dict:
    out: dict = {}
    for entry in requests:
        if entry["operation"] == "TestEnv":
            continue
        out[entry["operation"]] = out.get(entry["operation"], 0) + 1
    return out
