# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where the rollout of a StatefulSet stands: ready, still progressing, or failed (a container of the new revision
cannot start), so a role stops waiting at the first sign of failure instead of at a timeout.

Documentation: statefulset_rollout.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.neo4j_azure.aks.plugins.module_utils.k8s_object import field as _get

# Waiting reasons no amount of waiting fixes without a change (kubelet's names).
FAILED_WAITING = ("CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "ErrImagePull",
                  "ImagePullBackOff", "InvalidImageName", "RunContainerError", "ErrImageNeverPull")


def _one(statefulset):
    if isinstance(statefulset, list):
        if len(statefulset) > 1:
            raise AnsibleFilterError(f"statefulset_rollout: {len(statefulset)} StatefulSets given, expected one")
        return statefulset[0] if statefulset else None
    if statefulset is not None and not isinstance(statefulset, dict):
        raise AnsibleFilterError("statefulset_rollout: the StatefulSet must be a mapping or a list of at most one")
    return statefulset


def _termination_message(status):
    """The end of the log the kubelet kept in the status of the instance that exited with an error
    (terminationMessagePolicy FallbackToLogsOnError), or ""."""
    for state in ("state", "lastState"):
        message = _get(status, state, "terminated", "message")
        if message:
            return message
    return ""


def _container_failure(pod, status, init):
    """(reason, previous) when this container of the pod cannot start, else None. previous: the log of the
    container's previous instance (the one that exited) holds the cause."""
    name = f"pod {pod['metadata']['name']} {'init container' if init else 'container'} {status.get('name')}"
    restarts = int(status.get("restartCount") or 0)
    waiting = _get(status, "state", "waiting", default={})
    last = _get(status, "lastState", "terminated", default={})
    current = _get(status, "state", "terminated", default={})
    if waiting.get("reason") in FAILED_WAITING:
        detail = f": {waiting['message']}" if waiting.get("message") else ""
        exited = (f", last exit code {last['exitCode']} ({last.get('reason') or 'Error'})"
                  if last.get("exitCode") is not None else "")
        return f"{name}: {waiting['reason']}{detail}{exited}, {restarts} restart(s)", restarts > 0
    for terminated, previous in ((current, False), (last, True)):
        code = terminated.get("exitCode")
        if code not in (None, 0) and (not previous or restarts > 0):
            return (f"{name} exited with code {code} ({terminated.get('reason') or 'Error'}), "
                    f"{restarts} restart(s)", previous)
    return None


def statefulset_rollout(statefulset, pods, replicas=None):
    """{state: ready|progressing|failed, done, reason, pod, container, init, previous} of a StatefulSet's rollout."""
    sts = _one(statefulset)
    pods = list(pods or [])
    out = {"state": "progressing", "done": False, "reason": "", "pod": None, "container": None, "previous": False,
           "message": ""}
    if sts is None:
        out["reason"] = "the StatefulSet does not exist (yet)"
        return out
    wanted = int(replicas if replicas not in (None, "") else _get(sts, "spec", "replicas", default=1))
    status = sts.get("status") or {}
    update = status.get("updateRevision")
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        if update and _get(pod, "metadata", "labels", "controller-revision-hash") != update:
            continue  # an old pod: the new revision's failures count, not the old one's
        if _get(pod, "status", "phase") == "Failed":
            out.update(state="failed", done=True, pod=pod["metadata"]["name"],
                       reason=f"pod {pod['metadata']['name']} failed: {_get(pod, 'status', 'message', default='')}")
            return out
        for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses")):
            for cstatus in _get(pod, "status", key, default=[]):
                failure = _container_failure(pod, cstatus, init)
                if failure:
                    out.update(state="failed", done=True, reason=failure[0], pod=pod["metadata"]["name"],
                               container=cstatus.get("name"), previous=failure[1],
                               message=_termination_message(cstatus))
                    return out
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    settled = (int(status.get("observedGeneration") or 0) >= int(_get(sts, "metadata", "generation", default=0))
               and update is not None and update == status.get("currentRevision"))
    if ready == wanted and settled and int(_get(sts, "spec", "replicas", default=wanted)) == wanted:
        out.update(state="ready", done=True, reason=f"{ready} of {wanted} servers ready on revision {update}")
    else:
        out["reason"] = (f"{ready} of {wanted} servers ready, {updated} on the new revision"
                         + ("" if settled else " (rollout in progress)"))
        waiting = _first_unready(pods, update)
        if waiting:
            out.update(pod=waiting[0], container=waiting[1])
            out["reason"] += f"; pod {waiting[0]} container {waiting[1]} is not ready"
    return out


def _first_unready(pods, update):
    """(pod, container) of the first pod of the update revision with a container that runs but is not ready: where
    a role looks for the reason (its log) when the rollout times out."""
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        if update and _get(pod, "metadata", "labels", "controller-revision-hash") != update:
            continue
        for cstatus in _get(pod, "status", "containerStatuses", default=[]):
            if not cstatus.get("ready") and _get(cstatus, "state", "running") is not None:
                return pod["metadata"]["name"], cstatus.get("name")
    return None


class FilterModule:
    """Rollout filters."""

    def filters(self):
        return {"statefulset_rollout": statefulset_rollout}
