"""Smoke tests: the kwok cluster, helm and the helm-diff plugin are real and behave like AKS where we rely on it."""

from __future__ import annotations

import json
import time

import pytest

from testenv_client import FILES, kube_namespace, kubectl, localhost_play, run_playbook


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube")


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture()
def namespace(env):
    with kube_namespace(env, "smoke") as name:
        yield name


def test_cluster_reports_kubernetes_1_36_and_aks_like_nodes(env):
    version = json.loads(kubectl(env, "version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"].startswith("v1.36.")
    nodes = json.loads(kubectl(env, "get", "nodes", "-o", "json").stdout)["items"]
    # The simulated AKS nodes (kwok manages only those annotated kwok.x-k8s.io/node=fake); a real kubelet node
    # (components/node.py) may join the Neo4j pool beside them, tainted so that simulated-path pods never land there.
    simulated = [n for n in nodes if (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake"]
    for real in (n for n in nodes if n not in simulated):
        assert real["metadata"]["labels"]["agentpool"] == "neo4j", real["metadata"]["name"]
        assert any(t["key"] == "testenv.neo4j-azure-aks/real-node" and t["effect"] == "NoSchedule"
                   for t in real["spec"].get("taints", [])), real["metadata"]["name"]
    pools = {}
    for node in simulated:
        pools.setdefault(node["metadata"]["labels"]["agentpool"], []).append(node)
    assert set(pools) >= {"system", "user", "neo4j"}
    assert len(pools["neo4j"]) == 3
    assert {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in pools["neo4j"]} == {
        "westeurope-1", "westeurope-2", "westeurope-3"}
    assert all(any(t["key"] == "workload" and t["effect"] == "NoSchedule" for t in n["spec"]["taints"])
               for n in pools["neo4j"])
    assert any(t["key"] == "CriticalAddonsOnly" for t in pools["system"][0]["spec"]["taints"])


def test_statefulset_on_neo4j_pool_gets_ready_pods_and_bound_pvcs(env, namespace):
    manifest = {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": namespace},
        "spec": {
            "serviceName": "db", "replicas": 3, "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
                "nodeSelector": {"agentpool": "neo4j"},
                "tolerations": [{"key": "workload", "operator": "Equal", "value": "neo4j", "effect": "NoSchedule"}],
                "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}},
                "containers": [{"name": "neo4j", "image": "neo4j:5.26"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": "managed-csi-premium",
                "resources": {"requests": {"storage": "2Gi"}}}}],
        },
    }
    kubectl(env, "apply", "-f", "-", input_text=json.dumps(manifest))

    def ready():
        sts = json.loads(kubectl(env, "-n", namespace, "get", "statefulset", "db", "-o", "json").stdout)
        return sts.get("status", {}).get("readyReplicas") == 3
    wait_for(ready, 90, "3 ready replicas")
    pods = json.loads(kubectl(env, "-n", namespace, "get", "pods", "-o", "json").stdout)["items"]
    node_names = {p["spec"]["nodeName"] for p in pods}
    assert len(node_names) == 3 and all(n.startswith("aks-neo4j-") for n in node_names)
    pvcs = json.loads(kubectl(env, "-n", namespace, "get", "pvc", "-o", "json").stdout)["items"]
    assert [p["status"]["phase"] for p in pvcs] == ["Bound"] * 3
    assert all(p["status"]["capacity"]["storage"] == "2Gi" for p in pvcs)

    # Growing a claim is reflected in its capacity (the CSI resizer's job on AKS).
    kubectl(env, "-n", namespace, "patch", "pvc", "data-db-0", "-p",
            json.dumps({"spec": {"resources": {"requests": {"storage": "4Gi"}}}}))
    wait_for(lambda: json.loads(kubectl(env, "-n", namespace, "get", "pvc", "data-db-0", "-o", "json").stdout)
             ["status"]["capacity"]["storage"] == "4Gi", 30, "PVC resize")


def test_unprovisioned_storage_class_leaves_pvc_pending(env, namespace):
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "stuck", "namespace": namespace},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "unprovisioned-test",
                      "resources": {"requests": {"storage": "1Gi"}}}}
    kubectl(env, "apply", "-f", "-", input_text=json.dumps(claim))
    time.sleep(3)
    pvc = json.loads(kubectl(env, "-n", namespace, "get", "pvc", "stuck", "-o", "json").stdout)
    assert pvc["status"]["phase"] == "Pending"


def test_load_balancer_service_gets_an_ingress_ip(env, namespace):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bolt", "namespace": namespace},
           "spec": {"type": "LoadBalancer", "selector": {"app": "db"}, "ports": [{"name": "bolt", "port": 7687}]}}
    kubectl(env, "apply", "-f", "-", input_text=json.dumps(svc))
    ingress = wait_for(lambda: json.loads(kubectl(env, "-n", namespace, "get", "svc", "bolt", "-o", "json").stdout)
                       ["status"].get("loadBalancer", {}).get("ingress"), 30, "LoadBalancer ingress")
    assert ingress[0]["ip"].startswith("10.224.")


def test_never_ready_image_stays_unready(env, namespace):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken", "namespace": namespace},
           "spec": {"nodeName": "aks-user-10000000-vmss000000",
                    "containers": [{"name": "c", "image": "neo4j:never-ready"}]}}
    kubectl(env, "apply", "-f", "-", input_text=json.dumps(pod))
    status = wait_for(lambda: json.loads(kubectl(env, "-n", namespace, "get", "pod", "broken", "-o", "json").stdout)
                      .get("status", {}).get("phase") == "Running" and
                      json.loads(kubectl(env, "-n", namespace, "get", "pod", "broken", "-o", "json").stdout)["status"],
                      30, "pod running")
    ready = [c for c in status["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "False"


def helm_task(namespace, values, state="present"):
    return {"name": "Install the smoke chart", "kubernetes.core.helm": {
        "name": "smoke", "chart_ref": str(FILES / "smoke-chart"), "release_namespace": namespace,
        "release_state": state, "values": values, "wait": True, "wait_timeout": "60s"}}


def test_helm_install_upgrade_and_idempotence_with_kubernetes_core(env, namespace):
    play = localhost_play([helm_task(namespace, {"greeting": "hello"})])
    first = run_playbook(play, env=env)
    assert first.rc == 0, first
    assert first.changed() == 1

    second = run_playbook(play, env=env)
    assert second.rc == 0, second
    assert second.changed() == 0, second.changed_tasks()

    # Check mode with --diff: helm-diff says what would change; nothing is applied.
    changed_play = localhost_play([helm_task(namespace, {"greeting": "bonjour"})])
    checked = run_playbook(changed_play, env=env, check=True, diff=True)
    assert checked.rc == 0, checked
    result = checked.task("Install the smoke chart")
    assert result["changed"] is True
    assert "bonjour" in result["diff"]["prepared"]
    cm = json.loads(kubectl(env, "-n", namespace, "get", "configmap", "smoke-config", "-o", "json").stdout)
    assert cm["data"]["greeting"] == "hello"

    upgraded = run_playbook(changed_play, env=env)
    assert upgraded.rc == 0 and upgraded.changed() == 1, upgraded
    cm = json.loads(kubectl(env, "-n", namespace, "get", "configmap", "smoke-config", "-o", "json").stdout)
    assert cm["data"]["greeting"] == "bonjour"
    assert int(upgraded.task("Install the smoke chart")["status"]["revision"]) == 2

    again = run_playbook(changed_play, env=env)
    assert again.rc == 0 and again.changed() == 0, again.changed_tasks()
