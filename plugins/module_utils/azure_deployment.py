# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ARM deployments driven by what-if: no PUT unless what-if reports a change; validate before PUT."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError, azure_op, flatten_error

NO_CHANGE_TYPES = ("NoChange", "Ignore")
SECURE_TYPES = ("securestring", "secureobject")
REDACTED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
# Poll interval when ARM sends no Retry-After (azure-mgmt's default is 30 s).
POLLING_INTERVAL = 5


# ---------------------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------------------

def _coerce(name, declared_type, value):
    """Values as ARM expects them for the declared type; YAML/Jinja strings of ints and bools are converted."""
    kind = (declared_type or "").lower()
    if kind == "int":
        if isinstance(value, bool):
            raise AzureOpError("parameters.%s must be an integer, got a boolean" % name, option="parameters",
                               code="InvalidParameterType")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise AzureOpError("parameters.%s must be an integer (template type int), got %r" % (name, value),
                           option="parameters", code="InvalidParameterType")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise AzureOpError("parameters.%s must be a boolean (template type bool), got %r" % (name, value),
                           option="parameters", code="InvalidParameterType")
    expected = {"string": str, "securestring": str, "object": dict, "secureobject": dict, "array": list}.get(kind)
    if expected is not None and not isinstance(value, expected):
        raise AzureOpError("parameters.%s must be of template type %s, got %s"
                           % (name, declared_type, type(value).__name__), option="parameters",
                           code="InvalidParameterType")
    return value


def build_parameters(template, parameters=None, file_parameters=None):
    """ARM {name: {value}} from the file's and the option's values (the option wins), checked against the
    template's declarations. Returns (arm_parameters, secure_values)."""
    declared = template.get("parameters") or {}
    lower = {k.lower(): k for k in declared}
    merged = dict(file_parameters or {})
    merged.update(parameters or {})
    unknown = sorted(k for k in merged if k.lower() not in lower)
    if unknown:
        raise AzureOpError("parameters %s are not declared by the template (it declares: %s)"
                           % (", ".join(unknown), ", ".join(sorted(declared)) or "none"),
                           option="parameters", code="UnknownParameter")
    arm, secure = {}, []
    for name, value in merged.items():
        decl = declared[lower[name.lower()]]
        ptype = (decl.get("type") or "") if isinstance(decl, dict) else ""
        value = _coerce(name, ptype, value)
        arm[name] = {"value": value}
        if ptype.lower() in SECURE_TYPES:
            secure.extend(_secret_strings(value))
    missing = sorted(n for n, d in declared.items()
                     if isinstance(d, dict) and "defaultValue" not in d and n.lower() not in
                     {k.lower() for k in merged})
    if missing:
        raise AzureOpError("the template needs a value for parameter(s) %s (set them in parameters or "
                           "parameters_file)" % ", ".join(missing), option="parameters", code="MissingParameter")
    return arm, secure


def _error_targets(tree):
    if not tree:
        return []
    return [tree.get("target")] + [t for d in tree.get("details") or [] for t in _error_targets(d)]


def blame_parameter(err, template):
    """When ARM's error targets a template parameter, name the option that sets it."""
    declared = {k.lower(): k for k in (template.get("parameters") or {})}
    for target in _error_targets(err.error):
        if target and target.lower() in declared:
            err.option = err.option or "parameters"
            err.message = "%s (option parameters.%s)" % (err.message, declared[target.lower()])
            err.args = (err.message,)
            break
    return err


def _secret_strings(value):
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _secret_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _secret_strings(v)]
    return [str(value)] if value is not None else []


def redact(value, secrets):
    """value with every secure string replaced (what-if shows resource properties fed by secure params)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------------------
# What-if
# ---------------------------------------------------------------------------------------------------------------

def _as_dict(obj):
    if obj is None:
        return None
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    return dict(obj) if not isinstance(obj, dict) else obj


def _change_dict(change):
    """A WhatIfChange (SDK model or plain dict) as a plain dict with ARM's camelCase keys."""
    if isinstance(change, dict):
        return change
    data = {}
    mapping = {"resource_id": "resourceId", "change_type": "changeType", "before": "before", "after": "after",
               "delta": "delta", "unsupported_reason": "unsupportedReason"}
    for attr, key in mapping.items():
        value = getattr(change, attr, None)
        if value is not None:
            data[key] = str(value.value if hasattr(value, "value") else value) if attr == "change_type" else value
    if data.get("delta"):
        data["delta"] = [_as_dict(d) for d in data["delta"]]
    return data


def flatten_delta(delta, prefix=""):
    """[(path, propertyChangeType, before, after)] from ARM's nested WhatIfPropertyChange list."""
    out = []
    for item in delta or []:
        item = _as_dict(item)
        path = item.get("path", "")
        full = "%s.%s" % (prefix, path) if prefix and path else (prefix or path)
        if item.get("propertyChangeType") in ("Array", "Modify") and item.get("children"):
            out.extend(flatten_delta(item["children"], full))
        else:
            out.append((full, item.get("propertyChangeType"), item.get("before"), item.get("after")))
    return out


def effective_change_type(change):
    """ARM's changeType, except that a Modify whose every property change is NoEffect (a read-only property
    that a deployment will not set) is no change: deploying again would not alter the resource."""
    kind = change.get("changeType", "Unsupported")
    if kind == "Modify":
        leaves = flatten_delta(change.get("delta"))
        if leaves and all(entry[1] == "NoEffect" for entry in leaves):
            return "NoChange"
    return kind


def summarize_what_if(changes, secrets=None):
    """(summary, changed_resources, diff list) from what-if changes.

    summary: count per changeType; changed_resources: [{resource_id, change_type, changed_paths}] for changes
    that are not NoChange/Ignore; diff: Ansible diff entries (before/after per changed resource)."""
    summary, changed, diffs = {}, [], []
    for raw in changes or []:
        change = redact(_change_dict(raw), secrets)
        kind = effective_change_type(change)
        summary[kind] = summary.get(kind, 0) + 1
        if kind in NO_CHANGE_TYPES:
            continue
        paths = [entry[0] for entry in flatten_delta(change.get("delta"))]
        entry = {"resource_id": change.get("resourceId"), "change_type": kind, "changed_paths": paths}
        if change.get("unsupportedReason"):
            entry["unsupported_reason"] = change["unsupportedReason"]
        changed.append(entry)
        rid = change.get("resourceId", "")
        diffs.append({
            "before_header": "%s (%s)" % (rid, kind),
            "after_header": "%s (%s)" % (rid, kind),
            "before": _diff_view(change.get("before"), kind == "Create"),
            "after": _diff_view(change.get("after"), kind == "Delete"),
        })
    return summary, changed, diffs


def _diff_view(body, absent):
    """A resource body for the diff: without its id (in the header) and read-only provisioningState."""
    if absent or body is None:
        return {}
    view = {k: v for k, v in body.items() if k != "id"}
    if isinstance(view.get("properties"), dict):
        view["properties"] = {k: v for k, v in view["properties"].items() if k != "provisioningState"}
    return view


# What-if diagnostics that mean part of the template was not evaluated, so "no change" proves nothing there.
BLIND_WHAT_IF_CODES = ("NestedDeploymentShortCircuited",)


def blind_spots(diagnostics):
    """The diagnostics of a what-if that skipped part of the template (e.g. a nested deployment whose name or
    parameters come from runtime values: ARM lists its resources as Ignore)."""
    return [d for d in diagnostics or [] if d.get("code") in BLIND_WHAT_IF_CODES]


def needs_deploy(changes, existing):
    """PUT when what-if reports any change, or when the named deployment is missing or did not succeed."""
    if existing is None:
        return True
    if _state(existing) != "Succeeded":
        return True
    return any(effective_change_type(_change_dict(c)) not in NO_CHANGE_TYPES for c in changes or [])


def _state(deployment):
    props = getattr(deployment, "properties", None)
    value = getattr(props, "provisioning_state", None) if props is not None else None
    return str(value.value if hasattr(value, "value") else value) if value is not None else None


def deployment_result(deployment, secrets=None):
    """Outputs ({name: value}), state, correlation id, duration and id of a DeploymentExtended."""
    props = deployment.properties
    outputs = {}
    for name, out in (props.outputs or {}).items():
        outputs[name] = out.get("value") if isinstance(out, dict) else out
    error = _as_dict(props.error) if getattr(props, "error", None) is not None else None
    result = {
        "deployment_id": deployment.id,
        "outputs": redact(outputs, secrets),
        "provisioning_state": _state(deployment),
        "correlation_id": props.correlation_id,
        "duration": props.duration,
        "timestamp": str(props.timestamp) if props.timestamp else None,
    }
    if error:
        result["error"] = error
    return result


# ---------------------------------------------------------------------------------------------------------------
# Deleting what a deployment created
# ---------------------------------------------------------------------------------------------------------------

# Resource groups hold everything: only delete_resource_group deletes one, never delete_resources.
RESOURCE_GROUP_TYPE = "microsoft.resources/resourcegroups"


def resource_type(resource_id):
    """(namespace, type path) of a resource id: the part after its last /providers/ segment, so an extension
    resource (a role assignment on a subnet) is of its own type. ("Microsoft.Network", "virtualNetworks/subnets")."""
    lowered = resource_id.lower()
    if "/providers/" not in lowered:
        parts = resource_id.strip("/").split("/")
        if len(parts) == 4 and parts[2].lower() == "resourcegroups":
            return "Microsoft.Resources", "resourceGroups"
        raise AzureOpError("cannot tell the resource type of %s" % resource_id, code="InvalidResourceId")
    tail = resource_id[lowered.rindex("/providers/") + len("/providers/"):].strip("/").split("/")
    if len(tail) < 3:
        raise AzureOpError("cannot tell the resource type of %s" % resource_id, code="InvalidResourceId")
    return tail[0], "/".join(tail[1::2])


def full_type(resource_id):
    namespace, type_path = resource_type(resource_id)
    return "%s/%s" % (namespace, type_path)


def _is_under(resource_id, parent_id):
    return resource_id.lower().startswith(parent_id.lower().rstrip("/") + "/")


def plan_deletion(resource_ids, keep_types):
    """(to_delete, kept) from a deployment's output resource ids.

    Kept: resources of a type in keep_types, everything below them (a kept storage account keeps its blob
    containers and the role assignments scoped to it) and resource groups. to_delete is in deletion order:
    deepest id first (children and extension resources before their parents), then by id for a stable order."""
    keep = {t.lower().strip("/") for t in keep_types or []}
    unique = list(dict.fromkeys(r for r in resource_ids if r))
    anchors = [r for r in unique if full_type(r).lower() in keep]
    kept, to_delete = [], []
    for rid in unique:
        if full_type(rid).lower() == RESOURCE_GROUP_TYPE or rid in anchors or any(_is_under(rid, a) for a in anchors):
            kept.append(rid)
        else:
            to_delete.append(rid)
    to_delete.sort(key=lambda r: (-len(r.strip("/").split("/")), r.lower()))
    return to_delete, kept


def pick_api_version(versions):
    """The newest stable api-version, else the newest preview (ISO dates sort as strings)."""
    versions = [v for v in versions or [] if v]
    stable = [v for v in versions if "preview" not in v.lower()]
    return max(stable or versions) if versions else None


def is_dependency_conflict(err):
    """A delete refused because something still uses the resource (409, or the Network RP's 400 InUse*)."""
    return err.status_code == 409 or "inuse" in (err.code or "").lower()


# ---------------------------------------------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------------------------------------------

class DeploymentRunner:
    """present/absent for one deployment at resource-group or subscription scope."""

    def __init__(self, clients, params, check_mode=False):
        self.clients = clients
        self.params = params
        self.check_mode = check_mode
        self.rg = params.get("resource_group")
        self.name = params["name"]
        self.timeout = params.get("wait_timeout") or 3600
        self.secrets = []
        self._api_versions = {}  # provider namespace (lower) -> {type path (lower): [api versions]}
        self.what_if_diagnostics = []
        self.warnings = []

    # -- SDK calls (each mapped to AzureOpError in one place by azure_op) ------------------------------------
    @property
    def _ops(self):
        return self.clients.deployments.deployments

    def _lro_kwargs(self):
        return {"polling_interval": POLLING_INTERVAL}

    def _wait(self, poller, what):
        started = time.monotonic()
        result = poller.result(timeout=self.timeout)
        if not poller.done():
            raise AzureOpError("%s did not finish within wait_timeout=%ss (it goes on in Azure; re-run to "
                               "converge)" % (what, self.timeout), code="Timeout", option="wait_timeout")
        self._elapsed = time.monotonic() - started
        return result

    @azure_op("get resource group", missing_ok=True)
    def get_resource_group(self):
        return self.clients.resources.resource_groups.get(self.rg)

    @azure_op("create resource group")
    def create_resource_group(self, location):
        return self.clients.resources.resource_groups.create_or_update(self.rg, {"location": location})

    @azure_op("delete resource group")
    def delete_resource_group(self):
        self._wait(self.clients.resources.resource_groups.begin_delete(self.rg, **self._lro_kwargs()),
                   "deleting resource group %s" % self.rg)

    @azure_op("get deployment", missing_ok=True)
    def get_deployment(self):
        if self.rg:
            return self._ops.get(self.rg, self.name)
        return self._ops.get_at_subscription_scope(self.name)

    @azure_op("what-if")
    def what_if(self, body):
        if self.rg:
            poller = self._ops.begin_what_if(self.rg, self.name, body, **self._lro_kwargs())
        else:
            poller = self._ops.begin_what_if_at_subscription_scope(self.name, body, **self._lro_kwargs())
        result = self._wait(poller, "what-if")
        error = getattr(result, "error", None)
        if error is not None:
            tree = _as_dict(error)
            raise AzureOpError("what-if failed:\n%s" % "\n".join(flatten_error(tree)), code=tree.get("code"),
                               error=tree)
        self.what_if_diagnostics = [_as_dict(d) for d in (getattr(result, "diagnostics", None) or [])]
        return list(result.changes or [])

    @azure_op("validate")
    def validate(self, body):
        if self.rg:
            poller = self._ops.begin_validate(self.rg, self.name, body, **self._lro_kwargs())
        else:
            poller = self._ops.begin_validate_at_subscription_scope(self.name, body, **self._lro_kwargs())
        result = self._wait(poller, "validate")
        error = getattr(result, "error", None)
        if error is not None:
            tree = _as_dict(error)
            raise AzureOpError("validate failed: %s: %s" % (tree.get("code"), tree.get("message")),
                               code=tree.get("code"), error=tree)
        return result

    @azure_op("deploy")
    def deploy(self, body):
        if self.rg:
            poller = self._ops.begin_create_or_update(self.rg, self.name, body, **self._lro_kwargs())
        else:
            poller = self._ops.begin_create_or_update_at_subscription_scope(self.name, body, **self._lro_kwargs())
        return self._wait(poller, "deployment %s" % self.name)

    @azure_op("delete deployment")
    def delete_deployment(self):
        if self.rg:
            poller = self._ops.begin_delete(self.rg, self.name, **self._lro_kwargs())
        else:
            poller = self._ops.begin_delete_at_subscription_scope(self.name, **self._lro_kwargs())
        self._wait(poller, "deleting deployment %s" % self.name)

    @azure_op("read resource provider", missing_ok=True)
    def get_provider(self, namespace):
        return self.clients.resources.providers.get(namespace)

    def api_version(self, resource_id):
        """The api-version for a resource id, from its provider's registered versions (one GET per namespace)."""
        namespace, type_path = resource_type(resource_id)
        if namespace.lower() not in self._api_versions:
            provider = self.get_provider(namespace)
            self._api_versions[namespace.lower()] = {
                (rt.resource_type or "").lower(): list(rt.api_versions or [])
                for rt in (getattr(provider, "resource_types", None) or [])}
        version = pick_api_version(self._api_versions[namespace.lower()].get(type_path.lower()))
        if version is None:
            raise AzureOpError("cannot delete %s: the resource provider %s lists no api-version for type %s"
                               % (resource_id, namespace, type_path), code="NoRegisteredProviderFound")
        return version

    @azure_op("read resource", missing_ok=True)
    def get_resource(self, resource_id):
        return self.clients.resources.resources.get_by_id(resource_id, api_version=self.api_version(resource_id))

    @azure_op("delete resource")
    def delete_resource(self, resource_id):
        poller = self.clients.resources.resources.begin_delete_by_id(
            resource_id, api_version=self.api_version(resource_id), **self._lro_kwargs())
        self._wait(poller, "deleting %s" % resource_id)

    # -- state ----------------------------------------------------------------------------------------------
    def _body(self, template, arm_parameters, what_if=False):
        props = {"mode": self.params.get("mode", "incremental").capitalize(), "template": template,
                 "parameters": arm_parameters}
        if what_if:
            props["whatIfSettings"] = {"resultFormat": "FullResourcePayloads"}
        body = {"properties": props}
        if not self.rg:
            body["location"] = self.params["location"]
        return body

    def _what_if(self, template, arm_parameters):
        try:
            return self.what_if(self._body(template, arm_parameters, what_if=True))
        except AzureOpError as err:
            if err.code == "ResourceGroupNotFound":
                raise
            raise blame_parameter(err, template)

    def _ensure_resource_group(self, result):
        """Create the missing resource group (create_resource_group=true); True when check mode stops here."""
        if self.get_resource_group() is not None:
            return False
        if not self.params.get("create_resource_group"):
            raise AzureOpError("resource_group %s does not exist; create it first or set "
                               "create_resource_group=true with location" % self.rg,
                               code="ResourceGroupNotFound", option="resource_group")
        if not self.params.get("location"):
            raise AzureOpError("create_resource_group=true needs the location option",
                               option="location", code="MissingLocation")
        result.update(changed=True, resource_group_created=True)
        if self.check_mode:
            result.update(what_if={"summary": {}, "changes": []})
            result["diff"] = [{"before_header": "resource group %s" % self.rg, "before": {},
                               "after_header": "resource group %s (Create)" % self.rg,
                               "after": {"name": self.rg, "location": self.params["location"]}}]
            result["msg"] = ("resource group %s would be created; what-if runs once it exists, so every "
                             "resource of the template counts as a change" % self.rg)
            return True
        self.create_resource_group(self.params["location"])
        return False

    def ensure_present(self, template, arm_parameters, secrets):
        self.secrets = secrets
        result = {"changed": False}
        # What-if first, optimistically: a no-op re-run then costs what-if + the deployment GET only. The
        # resource group is looked at only when ARM says it is missing.
        try:
            changes = self._what_if(template, arm_parameters)
        except AzureOpError as err:
            if not (self.rg and err.code == "ResourceGroupNotFound"):
                raise
            if self._ensure_resource_group(result):
                return result  # check mode: the group would be created first
            changes = self._what_if(template, arm_parameters)
        summary, changed_resources, diffs = summarize_what_if(changes, secrets)
        existing = self.get_deployment()
        deploy = needs_deploy(changes, existing)
        result["what_if"] = {"summary": summary, "changes": changed_resources}
        if self.what_if_diagnostics:
            result["what_if"]["diagnostics"] = redact(self.what_if_diagnostics, secrets)
        result["diff"] = diffs
        blind = blind_spots(self.what_if_diagnostics)
        if blind:
            targets = ", ".join(sorted({str(d.get("target") or "?") for d in blind}))
            text = ("what-if did not evaluate part of the template (%s: %s), so its resources may change without "
                    "showing" % (blind[0].get("code"), targets))
            if self.params.get("what_if_short_circuit") == "fail":
                raise AzureOpError(text + "; nothing was deployed (what_if_short_circuit=fail). Give the nested "
                                   "deployments names and parameters known before the deployment, or set "
                                   "what_if_short_circuit=deploy", code=blind[0].get("code"),
                                   option="what_if_short_circuit", diagnostics=result["what_if"]["diagnostics"])
            self.warnings.append(text + ": deploying to be sure (what_if_short_circuit=fail refuses instead)")
            deploy = True
        if not deploy:
            result.update(deployment_result(existing, secrets))
            return result
        result["changed"] = True
        if self.check_mode:
            if existing is not None and _state(existing) == "Succeeded":
                result.update(deployment_result(existing, secrets))
            return result
        try:
            self.validate(self._body(template, arm_parameters))
        except AzureOpError as err:
            raise blame_parameter(err, template)
        try:
            deployment = self.deploy(self._body(template, arm_parameters))
        except AzureOpError as err:
            raise self._deployment_failure(err)
        result.update(deployment_result(deployment, secrets))
        return result

    def _deployment_failure(self, err):
        """The failed deployment's own error tree (GET), which says which resource failed and why."""
        try:
            failed = self.get_deployment()
        except AzureOpError:
            return err
        if failed is None:
            return err
        info = deployment_result(failed, self.secrets)
        tree = info.get("error") or {}
        if not tree:
            if info["provisioning_state"] != "Canceled":
                return err  # still running (a wait_timeout), or failed without a tree: the original error says it
            # Canceled (by a user or a newer deployment of the same name) carries no error tree.
            tree = {"code": "Deployment%s" % info["provisioning_state"],
                    "message": "the deployment was %s before it finished; re-run to converge"
                               % info["provisioning_state"].lower()}
        lines = flatten_error(tree)
        text = "deployment %s ended %s (correlation id %s):\n%s" % (
            self.name, info["provisioning_state"], info["correlation_id"], "\n".join(lines))
        return AzureOpError(redact(text, self.secrets), code=tree.get("code"), error=redact(tree, self.secrets),
                            correlation_id=info["correlation_id"], provisioning_state=info["provisioning_state"],
                            deployment_id=info["deployment_id"])

    def delete_output_resources(self, deployment):
        """Delete the resources the deployment created, except the kept ones. Returns (deleted, kept); in check
        mode, deleted is what would be deleted (the resources that still exist)."""
        refs = getattr(deployment.properties, "output_resources", None) or []
        planned, kept = plan_deletion([getattr(r, "id", None) for r in refs], self.params.get("keep_resource_types"))
        present = [rid for rid in planned if self.get_resource(rid) is not None]
        if self.check_mode:
            return present, kept
        return self._delete_in_rounds(present), kept

    def _delete_in_rounds(self, pending):
        """Delete in order. A delete refused because something still uses the resource is retried after the
        others, as long as each round deletes something."""
        deleted = []
        while pending:
            refused = []
            for rid in pending:
                try:
                    self.delete_resource(rid)
                except AzureOpError as err:
                    if not is_dependency_conflict(err):
                        err.extra["deleted_resources"] = deleted
                        raise
                    refused.append((rid, err))
                    continue
                deleted.append(rid)
            if len(refused) == len(pending):
                lines = ["%s: %s" % (rid, err.message) for rid, err in refused]
                raise AzureOpError("%d resource(s) of deployment %s are still in use and were not deleted:\n%s"
                                   % (len(refused), self.name, "\n".join(lines)), code=refused[0][1].code,
                                   status_code=refused[0][1].status_code, error=refused[0][1].error,
                                   deleted_resources=deleted)
            pending = [pair[0] for pair in refused]
        return deleted

    def ensure_absent(self):
        result = {"changed": False}
        existing = self.get_deployment()
        if self.params.get("delete_resources"):
            deleted, kept = self.delete_output_resources(existing) if existing is not None else ([], [])
            result.update(deleted_resources=deleted, kept_resources=kept)
            result["diff"] = [{"before_header": "%s (Delete)" % rid, "before": {"id": rid},
                               "after_header": "%s (Delete)" % rid, "after": {}} for rid in deleted]
            result["changed"] = bool(deleted)
        if existing is not None:
            result["changed"] = True
            result.setdefault("diff", []).append(
                {"before_header": "deployment %s" % self.name, "before": {"name": self.name},
                 "after_header": "deployment %s (Delete)" % self.name, "after": {}})
            if not self.check_mode:
                self.delete_deployment()
        if self.rg and self.params.get("delete_resource_group"):
            if self.get_resource_group() is not None:
                result["changed"] = True
                result["resource_group_deleted"] = True
                if not self.check_mode:
                    self.delete_resource_group()
        return result
