# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The readiness rules of a StatefulSet release (the validate role): what is not as it should be.

Documentation: release_readiness.yml beside this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.neo4j_azure.aks.plugins.module_utils.k8s_object import field as _get

RESOURCE_KINDS = ("statefulsets", "pods", "pvcs", "services", "nodes", "endpoint_slices")


def _selector_text(labels: dict) -> str:
    return ",".join(f"{key}={value}" for key, value in labels.items())


def _replicas(statefulset) -> int:
    return int(_get(statefulset, "spec", "replicas", default=1))


def expected_pvc_names(statefulsets) -> list:
    """PVC names the StatefulSets own: <claim template>-<statefulset>-<ordinal>."""
    return [
        f"{claim['metadata']['name']}-{sts['metadata']['name']}-{ordinal}"
        for sts in statefulsets
        for claim in _get(sts, "spec", "volumeClaimTemplates", default=[])
        for ordinal in range(_replicas(sts))
    ]


def _not_headless(services) -> list:
    return [svc for svc in services if _get(svc, "spec", "clusterIP", default="") != "None"]


def _endpoint_line(svc) -> str:
    ports = ",".join(str(port.get("port")) for port in _get(svc, "spec", "ports", default=[]))
    ingress = _get(svc, "status", "loadBalancer", "ingress", default=[])
    external = [entry["ip"] for entry in ingress if entry.get("ip")]
    address = external[0] if external else _get(svc, "spec", "clusterIP", default="")
    return f"{svc['metadata']['name']} ({_get(svc, 'spec', 'type', default='')} {address}:{ports})"


def _statefulset_problems(statefulsets, expected_servers, selector, namespace) -> list:
    if not statefulsets:
        return [f"no StatefulSet labelled {selector} in namespace {namespace}"]
    problems = []
    for sts in statefulsets:
        name, wanted = sts["metadata"]["name"], _replicas(sts)
        ready = int(_get(sts, "status", "readyReplicas", default=0))
        if ready < wanted:
            problems.append(f"StatefulSet {name}: {ready} of {wanted} replicas ready")
        if expected_servers > 0 and wanted != expected_servers:
            problems.append(f"StatefulSet {name} has {wanted} replicas, expected {expected_servers}")
    return problems


def _pod_problems(pods, node_selector, pool_nodes) -> list:
    problems = []
    for pod in pods:
        name = pod["metadata"]["name"]
        conditions = _get(pod, "status", "conditions", default=[])
        if not any(cond.get("type") == "Ready" and cond.get("status") == "True" for cond in conditions):
            problems.append(f"pod {name} is not Ready (phase {_get(pod, 'status', 'phase', default='unknown')})")
        node = _get(pod, "spec", "nodeName")
        if node is None:
            problems.append(f"pod {name} is not scheduled on any node")
        elif node_selector and node not in pool_nodes:
            problems.append(f"pod {name} runs on node {node}, which is not labelled {_selector_text(node_selector)}")
    return problems


def _pvc_problems(expected, pvcs) -> list:
    by_name = {pvc["metadata"]["name"]: pvc for pvc in pvcs}
    problems = []
    for name in expected:
        pvc = by_name.get(name)
        if pvc is None:
            problems.append(f"PVC {name} does not exist")
        elif _get(pvc, "status", "phase", default="") != "Bound":
            problems.append(f"PVC {name} is {_get(pvc, 'status', 'phase', default='unknown')}, not Bound "
                            f"(storage class {_get(pvc, 'spec', 'storageClassName', default='default')})")
    return problems


def _endpoint_problems(services, slices) -> list:
    problems = []
    for svc in _not_headless(services):
        name = svc["metadata"]["name"]
        ready = sum(
            1
            for piece in slices if _get(piece, "metadata", "labels", "kubernetes.io/service-name", default="") == name
            for endpoint in _get(piece, "endpoints", default=[]) if _get(endpoint, "conditions", "ready")
        )
        if ready == 0:
            problems.append(f"Service {name} has no ready endpoints")
    return problems


def _load_balancer_problems(services, required, selector) -> list:
    balancers = [svc for svc in services if _get(svc, "spec", "type") == "LoadBalancer"]
    problems = [f"LoadBalancer Service {svc['metadata']['name']} has no address yet"
                for svc in balancers if not _get(svc, "status", "loadBalancer", "ingress", default=[])]
    if required and not balancers:
        problems.append(f"no LoadBalancer Service labelled {selector} (validate_load_balancer_enabled is true)")
    return problems


def release_readiness(resources, namespace, selector_labels, expected_servers=0, node_selector=None,
                      check_endpoints=True, load_balancer_required=False) -> dict:
    """Judge a release from what kubernetes.core.k8s_info read: its problems, PVCs and endpoints."""
    if not isinstance(resources, dict):
        raise AnsibleFilterError(f"release_readiness expects a dict with the keys {', '.join(RESOURCE_KINDS)}, "
                                 f"not {type(resources).__name__}")
    unknown = sorted(set(resources) - set(RESOURCE_KINDS))
    if unknown:
        raise AnsibleFilterError(f"release_readiness: unknown key(s) {', '.join(unknown)}; "
                                 f"expected {', '.join(RESOURCE_KINDS)}")
    if not isinstance(selector_labels, dict) or not selector_labels:
        raise AnsibleFilterError("release_readiness: selector_labels must be a non-empty dict of labels")
    node_selector = node_selector or {}
    if not isinstance(node_selector, dict):
        raise AnsibleFilterError("release_readiness: node_selector must be a dict of node labels")
    try:
        expected_servers = int(expected_servers)
        check_endpoints = boolean(check_endpoints, strict=True)
        load_balancer_required = boolean(load_balancer_required, strict=True)
    except (TypeError, ValueError) as err:
        raise AnsibleFilterError(f"release_readiness: {err}") from err

    found = {kind: list(resources.get(kind) or []) for kind in RESOURCE_KINDS}
    selector = _selector_text(selector_labels)
    expected_pvcs = expected_pvc_names(found["statefulsets"])
    pool_nodes = {node["metadata"]["name"] for node in found["nodes"]}

    problems = (
        _statefulset_problems(found["statefulsets"], expected_servers, selector, namespace)
        + _pod_problems(found["pods"], node_selector, pool_nodes)
        + _pvc_problems(expected_pvcs, found["pvcs"])
        + (_endpoint_problems(found["services"], found["endpoint_slices"]) if check_endpoints else [])
        + _load_balancer_problems(found["services"], load_balancer_required, selector)
    )
    return {
        "problems": problems,
        "statefulsets": [sts["metadata"]["name"] for sts in found["statefulsets"]],
        "pods": [pod["metadata"]["name"] for pod in found["pods"]],
        "pvcs": expected_pvcs,
        "endpoints": [_endpoint_line(svc) for svc in _not_headless(found["services"])],
    }


class FilterModule:
    """Readiness filters."""

    def filters(self):
        return {"release_readiness": release_readiness}
