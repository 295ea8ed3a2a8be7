"""Choice of pod and port of module_utils/kube_portforward (no cluster: the pod objects are the client's models)."""

from __future__ import annotations

from kubernetes import client as k8s

from ansible_collections.neo4j_azure.aks.plugins.module_utils import kube_portforward as pf


def pod(name, phase="Running", ready="True", ports=None, deleting=False):
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, deletion_timestamp="2026-12-02T00:00:00Z" if deleting else None),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="neo4j", ports=[
            k8s.V1ContainerPort(name=n, container_port=p) for n, p in (ports or {}).items()])]),
        status=k8s.V1PodStatus(phase=phase, conditions=[k8s.V1PodCondition(type="Ready", status=ready)]))


def test_running_pods_that_are_not_terminating_are_targets_ready_ones_first():
    assert pf._running(pod("b", ready="False"))  # pylint: disable=protected-access
    assert not pf._running(pod("d", deleting=True))  # pylint: disable=protected-access
    assert pf._ready(pod("a"))  # pylint: disable=protected-access
    assert not pf._ready(pod("b", ready="False"))  # pylint: disable=protected-access
    assert not pf._ready(pod("c", phase="Pending"))  # pylint: disable=protected-access
    assert not pf._ready(pod("d", deleting=True))  # pylint: disable=protected-access


def test_a_named_target_port_is_the_container_port_of_that_name():
    target = pod("neo4j-0", ports={"tcp-bolt": 7687, "tcp-http": 7474})
    assert pf._container_port(target, "tcp-http", 7687) == 7474  # pylint: disable=protected-access
    assert pf._container_port(target, 7688, 7687) == 7688  # pylint: disable=protected-access
    assert pf._container_port(target, "7689", 7687) == 7689  # pylint: disable=protected-access
    assert pf._container_port(target, None, 7687) == 7687  # pylint: disable=protected-access
    assert pf._container_port(target, "missing", 7687) == 7687  # pylint: disable=protected-access


def test_the_option_needs_exactly_one_of_pod_and_service():
    spec = pf.port_forward_spec()
    assert spec["options"]["namespace"]["required"]
    assert ["pod", "service"] in spec["mutually_exclusive"] and ["pod", "service"] in spec["required_one_of"]
