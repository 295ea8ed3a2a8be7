"""plugins/filter/readiness.py: the readiness rules of the validate role, one test per rule and per bad input."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.neo4j_azure.aks.plugins.filter.readiness import FilterModule, expected_pvc_names, release_readiness

LABELS = {"app.kubernetes.io/name": "neo4j", "app.kubernetes.io/instance": "graph"}
POOL = {"agentpool": "neo4j"}


def sts(name="graph", replicas=1, ready=1, claims=("data",)):
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas,
                     "volumeClaimTemplates": [{"metadata": {"name": claim}} for claim in claims]},
            "status": {"replicas": replicas, "readyReplicas": ready}}


def pod(name="graph-0", ready=True, node="aks-neo4j-0", phase="Running"):
    spec = {"nodeName": node} if node else {}
    return {"metadata": {"name": name}, "spec": spec,
            "status": {"phase": phase, "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def pvc(name="data-graph-0", phase="Bound", storage_class="managed-csi"):
    return {"metadata": {"name": name}, "spec": {"storageClassName": storage_class}, "status": {"phase": phase}}


def svc(name="graph", kind="ClusterIP", cluster_ip="10.0.0.10", ports=(7687, 7474), ingress=None):
    service = {"metadata": {"name": name},
               "spec": {"type": kind, "clusterIP": cluster_ip, "ports": [{"port": port} for port in ports]},
               "status": {"loadBalancer": {}}}
    if ingress is not None:
        service["status"]["loadBalancer"]["ingress"] = ingress
    return service


def endpoint_slice(service="graph", ready=(True,)):
    return {"metadata": {"labels": {"kubernetes.io/service-name": service}},
            "endpoints": [{"conditions": {"ready": state}} for state in ready]}


def node(name="aks-neo4j-0"):
    return {"metadata": {"name": name}}


def healthy():
    return {
        "statefulsets": [sts()],
        "pods": [pod()],
        "pvcs": [pvc()],
        "services": [svc(), svc("graph-headless", cluster_ip="None"),
                     svc("graph-lb", kind="LoadBalancer", ports=(7687,), ingress=[{"ip": "10.224.10.5"}])],
        "nodes": [node(), node("aks-neo4j-1")],
        "endpoint_slices": [endpoint_slice(), endpoint_slice("graph-lb")],
    }


def judge(resources, **options):
    options = {"namespace": "neo4j", "selector_labels": LABELS, "node_selector": POOL, **options}
    return release_readiness(resources, **options)


def problems(resources, **options):
    return judge(resources, **options)["problems"]


def test_healthy_release_has_no_problems_and_is_summarised():
    result = judge(healthy(), expected_servers=1, load_balancer_required=True)
    assert result == {
        "problems": [],
        "statefulsets": ["graph"],
        "pods": ["graph-0"],
        "pvcs": ["data-graph-0"],
        "endpoints": ["graph (ClusterIP 10.0.0.10:7687,7474)", "graph-lb (LoadBalancer 10.224.10.5:7687)"],
    }


def test_no_statefulset_names_the_selector_and_namespace():
    assert problems({}) == [
        "no StatefulSet labelled app.kubernetes.io/name=neo4j,app.kubernetes.io/instance=graph in namespace neo4j"]


def test_missing_ready_replicas_are_counted():
    resources = healthy()
    resources["statefulsets"] = [sts(replicas=3, ready=1)]
    resources["pvcs"] = [pvc(f"data-graph-{n}") for n in range(3)]
    assert problems(resources) == ["StatefulSet graph: 1 of 3 replicas ready"]


def test_no_status_yet_counts_zero_ready():
    resources = healthy()
    del resources["statefulsets"][0]["status"]
    assert problems(resources) == ["StatefulSet graph: 0 of 1 replicas ready"]


def test_replica_count_other_than_expected_servers():
    assert problems(healthy(), expected_servers=3) == ["StatefulSet graph has 1 replicas, expected 3"]
    assert problems(healthy(), expected_servers=0) == []
    assert problems(healthy(), expected_servers="1") == []


def test_replicas_default_to_one_when_the_spec_omits_them():
    resources = healthy()
    del resources["statefulsets"][0]["spec"]["replicas"]
    assert judge(resources)["pvcs"] == ["data-graph-0"] and problems(resources) == []


def test_pod_not_ready_names_its_phase():
    resources = healthy()
    resources["pods"] = [pod(ready=False)]
    assert problems(resources) == ["pod graph-0 is not Ready (phase Running)"]
    resources["pods"][0]["status"] = {}
    assert problems(resources) == ["pod graph-0 is not Ready (phase unknown)"]


def test_unscheduled_pod():
    resources = healthy()
    resources["pods"] = [pod(ready=False, node=None, phase="Pending")]
    assert problems(resources) == ["pod graph-0 is not Ready (phase Pending)", "pod graph-0 is not scheduled on any node"]


def test_pod_on_a_node_outside_the_pool():
    resources = healthy()
    resources["pods"] = [pod(node="aks-user-0")]
    assert problems(resources) == ["pod graph-0 runs on node aks-user-0, which is not labelled agentpool=neo4j"]
    two_labels = {"agentpool": "neo4j", "workload": "neo4j"}
    assert problems(resources, node_selector=two_labels) == [
        "pod graph-0 runs on node aks-user-0, which is not labelled agentpool=neo4j,workload=neo4j"]


def test_any_node_will_do_without_a_node_selector():
    resources = healthy()
    resources["pods"] = [pod(node="aks-user-0")]
    resources["nodes"] = []
    assert problems(resources, node_selector={}) == []
    assert problems(resources, node_selector=None) == []


def test_missing_pvc():
    resources = healthy()
    resources["pvcs"] = [pvc("data-other-0")]
    assert problems(resources) == ["PVC data-graph-0 does not exist"]


def test_pending_pvc_names_its_storage_class():
    resources = healthy()
    resources["pvcs"] = [pvc(phase="Pending", storage_class="unprovisioned-disk")]
    assert problems(resources) == ["PVC data-graph-0 is Pending, not Bound (storage class unprovisioned-disk)"]
    resources["pvcs"] = [{"metadata": {"name": "data-graph-0"}, "spec": {}}]
    assert problems(resources) == ["PVC data-graph-0 is unknown, not Bound (storage class default)"]


def test_expected_pvcs_cover_every_claim_template_and_ordinal():
    statefulsets = [sts(replicas=3, claims=("data", "logs")), sts("other", replicas=1, claims=())]
    assert expected_pvc_names(statefulsets) == [
        "data-graph-0", "data-graph-1", "data-graph-2", "logs-graph-0", "logs-graph-1", "logs-graph-2"]
    assert expected_pvc_names([sts(replicas=0)]) == []


def test_service_without_ready_endpoints():
    resources = healthy()
    resources["endpoint_slices"] = [endpoint_slice(ready=(False,)), endpoint_slice("graph-lb")]
    assert problems(resources) == ["Service graph has no ready endpoints"]
    resources["endpoint_slices"] = [{"metadata": {"labels": {"kubernetes.io/service-name": "graph"}},
                                     "endpoints": [{"conditions": {}}]}, endpoint_slice("graph-lb")]
    assert problems(resources) == ["Service graph has no ready endpoints"]
    resources["endpoint_slices"] = [endpoint_slice("graph-lb")]
    assert problems(resources) == ["Service graph has no ready endpoints"]


def test_ready_endpoints_may_be_spread_over_slices():
    resources = healthy()
    resources["endpoint_slices"] += [endpoint_slice(ready=(False, False)), {"metadata": {}, "endpoints": None}]
    assert problems(resources) == []


def test_headless_services_need_no_endpoints_and_are_not_listed():
    resources = healthy()
    resources["endpoint_slices"] = [endpoint_slice(), endpoint_slice("graph-lb")]
    result = judge(resources)
    assert result["problems"] == [] and not any("headless" in line for line in result["endpoints"])


def test_endpoints_are_not_checked_when_disabled():
    resources = healthy()
    resources["endpoint_slices"] = []
    assert problems(resources, check_endpoints=False) == []
    assert problems(resources, check_endpoints="no") == []
    assert len(problems(resources, check_endpoints="yes")) == 2


def test_load_balancer_without_address():
    resources = healthy()
    resources["services"][2] = svc("graph-lb", kind="LoadBalancer", ports=(7687,))
    result = judge(resources)
    assert result["problems"] == ["LoadBalancer Service graph-lb has no address yet"]
    assert "graph-lb (LoadBalancer 10.0.0.10:7687)" in result["endpoints"]  # the cluster IP until then


def test_load_balancer_with_a_hostname_has_an_address():
    resources = healthy()
    resources["services"][2] = svc("graph-lb", kind="LoadBalancer", ports=(7687,), ingress=[{"hostname": "lb.example"}])
    assert problems(resources) == []


def test_required_load_balancer_missing():
    resources = healthy()
    resources["services"] = resources["services"][:2]
    assert problems(resources) == []
    assert problems(resources, load_balancer_required=True) == [
        "no LoadBalancer Service labelled app.kubernetes.io/name=neo4j,app.kubernetes.io/instance=graph "
        "(validate_load_balancer_enabled is true)"]


def test_problems_come_in_rule_order():
    resources = healthy()
    resources["statefulsets"] = [sts(ready=0)]
    resources["pods"] = [pod(ready=False, node=None, phase="Pending")]
    resources["pvcs"] = [pvc(phase="Pending")]
    resources["endpoint_slices"] = []
    resources["services"][2] = svc("graph-lb", kind="LoadBalancer", ports=(7687,))
    assert problems(resources) == [
        "StatefulSet graph: 0 of 1 replicas ready",
        "pod graph-0 is not Ready (phase Pending)",
        "pod graph-0 is not scheduled on any node",
        "PVC data-graph-0 is Pending, not Bound (storage class managed-csi)",
        "Service graph has no ready endpoints",
        "Service graph-lb has no ready endpoints",
        "LoadBalancer Service graph-lb has no address yet",
    ]


def test_null_lists_are_empty_and_input_is_not_modified():
    resources = healthy()
    before = copy.deepcopy(resources)
    judge(resources)
    assert resources == before
    assert problems({"statefulsets": None, "pods": None})[0].startswith("no StatefulSet labelled")


@pytest.mark.parametrize(("resources", "options", "message"), [
    ([], {}, "expects a dict with the keys statefulsets, pods"),
    ({"statefulset": []}, {}, "unknown key.s. statefulset; expected statefulsets"),
    ({}, {"selector_labels": {}}, "selector_labels must be a non-empty dict"),
    ({}, {"selector_labels": "app=neo4j"}, "selector_labels must be a non-empty dict"),
    ({}, {"node_selector": ["agentpool=neo4j"]}, "node_selector must be a dict"),
    ({}, {"expected_servers": "three"}, "release_readiness: invalid literal"),
    ({}, {"check_endpoints": "maybe"}, "release_readiness: .*maybe"),
    ({}, {"load_balancer_required": "sometimes"}, "release_readiness: .*sometimes"),
])
def test_bad_input_is_refused_with_a_message(resources, options, message):
    with pytest.raises(AnsibleFilterError, match=message):
        judge(resources, **options)


def test_filter_is_registered():
    assert FilterModule().filters() == {"release_readiness": release_readiness}
