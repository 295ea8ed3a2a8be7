"""roles/validate against the kwok cluster (real apiserver, scheduler, controllers) and the real test Neo4j.

The fixture is a small release of our own (StatefulSet with a volume claim, a ClusterIP and a LoadBalancer
Service, labelled as the chart labels them) so the role is tested without depending on the chart; Neo4j health
points at the test environment's Neo4j server.
"""

from __future__ import annotations

import uuid

import pytest

from testenv_client import case_host, localhost_play, run_cases, run_playbook

pytestmark = pytest.mark.integration


def release_manifests(namespace, release, storage_class="managed-csi", image_tag="5.26"):
    labels = {"app.kubernetes.io/name": "neo4j", "app.kubernetes.io/instance": release}
    return [
        {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": {"name": release, "namespace": namespace, "labels": labels},
         "spec": {
             "replicas": 1, "serviceName": f"{release}-headless", "selector": {"matchLabels": labels},
             "template": {
                 "metadata": {"labels": labels},
                 "spec": {
                     "nodeSelector": {"agentpool": "neo4j"},
                     "tolerations": [{"key": "workload", "operator": "Equal", "value": "neo4j",
                                      "effect": "NoSchedule"}],
                     "containers": [{"name": "neo4j", "image": f"neo4j:{image_tag}",
                                     "ports": [{"name": "tcp-bolt", "containerPort": 7687}],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
             "volumeClaimTemplates": [{
                 "metadata": {"name": "data"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                          "resources": {"requests": {"storage": "1Gi"}}}}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": release, "namespace": namespace, "labels": labels},
         "spec": {"type": "ClusterIP", "selector": labels, "ports": [{"name": "tcp-bolt", "port": 7687}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": f"{release}-headless", "namespace": namespace, "labels": labels},
         "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "tcp-bolt", "port": 7687}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": f"{release}-lb", "namespace": namespace, "labels": labels},
         "spec": {"type": "LoadBalancer", "selector": labels, "ports": [{"name": "tcp-bolt", "port": 7687}]}},
    ]


def apply(env, namespace, manifests, state="present"):
    tasks = [{"name": "namespace", "kubernetes.core.k8s": {
        "state": state, "wait": state == "absent",
        "definition": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}}}]
    if state == "present":
        tasks.append({"name": "release", "kubernetes.core.k8s": {"state": "present", "definition": manifests}})
    result = run_playbook(localhost_play(tasks), env=env)
    assert result.rc == 0, result


def validate(env, check=False, **role_vars):
    play = localhost_play([{"name": "validate", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.validate"}}],
                          vars_=role_vars)
    return run_playbook(play, env=env, check=check)


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("kube", "neo4j")


@pytest.fixture()
def namespace(env):
    name = f"validate-{uuid.uuid4().hex[:8]}"
    yield name
    apply(env, name, [], state="absent")


def test_healthy_release_passes_and_summarises(env, namespace):
    apply(env, namespace, release_manifests(namespace, "graph"))
    role_vars = {"validate_namespace": namespace, "validate_release": "graph", "validate_rollout_timeout": 120,
                 "validate_load_balancer_enabled": True, "validate_bolt_uri": env["NEO4J_URI"],
                 "validate_expected_servers": 1}
    result = validate(env, **role_vars)
    assert result.rc == 0, result
    assert result.changed() == 0
    summary = result.task("Summarise the validation")["msg"]
    assert summary[0].startswith(f"Neo4j release graph in {namespace}: graph ready, pods graph-0, volumes Bound "
                                 "data-graph-0")
    assert "graph (ClusterIP " in summary[1] and "graph-lb (LoadBalancer 10.224.10." in summary[1]
    assert summary[2].startswith(f"Neo4j {env['NEO4J_VERSION']} community at {env['NEO4J_URI']}; databases: ")
    assert "neo4j online" in summary[2] and "system online" in summary[2]
    assert "writes accepted" in summary[3]
    facts = result.task("Record the validation result")["ansible_facts"]["validate_result"]
    assert facts["pvcs"] == ["data-graph-0"] and facts["neo4j"]["healthy"] is True

    check = validate(env, check=True, **role_vars)
    assert check.rc == 0 and check.changed() == 0, check


def test_pending_volume_fails_with_a_clear_message(env, namespace):
    apply(env, namespace, release_manifests(namespace, "stuck", storage_class="unprovisioned-disk"))
    result = validate(env, validate_namespace=namespace, validate_release="stuck", validate_rollout_timeout=5,
                      validate_bolt_uri=env["NEO4J_URI"])
    assert result.rc != 0
    msg = result.task("Assert the StatefulSet, pods, volumes and Services")["msg"]
    assert msg.startswith(f"Neo4j release stuck in namespace {namespace} is not ready: ")
    assert "PVC data-stuck-0 is Pending, not Bound (storage class unprovisioned-disk)" in msg
    assert "StatefulSet stuck: 0 of 1 replicas ready" in msg
    assert "pod stuck-0 is not scheduled on any node" in msg
    # Neo4j is not even asked while no pod of the release runs.
    assert result.task("Check Neo4j answers").get("skipped") is True


def test_pod_never_ready_and_unhealthy_neo4j_are_named(env, namespace):
    apply(env, namespace, release_manifests(namespace, "slow", image_tag="never-ready"))
    result = validate(env, validate_namespace=namespace, validate_release="slow", validate_rollout_timeout=5,
                      validate_bolt_uri=env["NEO4J_URI"])
    msg = result.task("Assert the StatefulSet, pods, volumes and Services")["msg"]
    assert "pod slow-0 is not Ready (phase Running)" in msg and "Service slow has no ready endpoints" in msg
    # A pod runs: Neo4j was asked once (no waiting); it answered healthy, so nothing of it joins the message.
    assert result.task("Check Neo4j answers")["healthy"] is True and "Neo4j itself" not in msg

    ready = f"{namespace}-ok"
    try:
        apply(env, ready, release_manifests(ready, "graph"))
        result = validate(env, validate_namespace=ready, validate_release="graph", validate_rollout_timeout=120,
                          validate_bolt_uri=env["NEO4J_URI"], validate_required_databases=["neo4j", "reports"],
                          validate_health_timeout=3)
        assert result.rc != 0
        health = result.task("Check Neo4j answers")
        assert "required database 'reports' does not exist" in health["msg"]
    finally:
        apply(env, ready, [], state="absent")


BAD_INPUTS = {
    "namespace": ({"validate_namespace": ""}, "Assert validate_namespace is set", "validate_namespace is empty"),
    "selector": ({"validate_selector_labels": {}}, "Assert validate_selector_labels is set",
                 "validate_selector_labels is empty"),
    "rollout timeout": ({"validate_rollout_timeout": -1}, "Assert validate_rollout_timeout is 0 or more",
                        "validate_rollout_timeout is -1"),
    "latency samples": ({"validate_latency_samples": 0}, "Assert validate_latency_samples is 1 or more",
                        "validate_latency_samples is 0"),
    "bolt uri": ({"validate_bolt_uri": "http://127.0.0.1:7474"}, "Assert validate_bolt_uri is a Bolt URI",
                 "validate_bolt_uri is 'http://127.0.0.1:7474': with validate_neo4j_health it must be a bolt://"),
    "port-forward scheme": ({"validate_bolt_uri": "neo4j://localhost:7687", "validate_port_forward": True},
                            "Assert a port-forward goes over bolt://", "the tunnel carries bolt:// only"),
}


@pytest.fixture(scope="module")
def bad_input_run(env):
    """Every bad input in one ansible-playbook run: one inventory host per case."""
    cases = {case: {"validate_bolt_uri": env["NEO4J_URI"], **BAD_INPUTS[case][0]} for case in BAD_INPUTS}
    tasks = [{"name": "validate", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.validate"}}]
    return run_cases(tasks, cases, env=env)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_fail_first_naming_the_variable_and_value(bad_input_run, case):
    result = bad_input_run
    _role_vars, task, expected = BAD_INPUTS[case]
    host = case_host(case)
    assert host in result.stats, result
    failed = result.failed_tasks(host)
    assert len(failed) == 1 and task in failed[0][1], failed
    assert expected in result.task(task, host=host)["msg"]
    assert not [name for name, _result in result.tasks(host) if "Read the" in name or "Wait for" in name], \
        "nothing is read before the inputs are checked"
