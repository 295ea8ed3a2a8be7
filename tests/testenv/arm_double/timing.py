"""The optional "azure-like" LRO timing profile (POST /_testenv/timing): how long Azure would keep an operation
Running. Off by default: every long-running operation ends at its first poll."""

from __future__ import annotations

from .engine import DeploymentEngine
from .errors import ArmError

DEPLOYMENT_TYPE = "microsoft.resources/deployments"

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


class Timing(DeploymentEngine):
    """The engine with modelled LRO durations: the profile's settings and the modelled duration of a deployment."""

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
