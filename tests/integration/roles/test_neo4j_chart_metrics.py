"""Neo4j metrics in the collection's chart, rendered by the real helm: Enterprise serves its Prometheus endpoint
on its own port, reachable only by the managed Prometheus agent, and declares the scrape with a PodMonitor of
Azure's group; Community (which has no metrics endpoint) renders none of it. Checkov stays clean."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "roles" / "neo4j" / "files" / "chart"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
# What a cluster with the AKS metrics add-on serves (helm template has no cluster to ask).
MANAGED_PROMETHEUS = ["--api-versions", "azmonitoring.coreos.com/v1/PodMonitor"]
ENTERPRISE = ["--set", "neo4j.edition=enterprise", "--set", "neo4j.acceptLicenseAgreement=eval"]
CLUSTER = [*ENTERPRISE, "--set", "neo4j.servers=3"]


@pytest.fixture(scope="module")
def helm(testenv_for):
    env = testenv_for("kube")

    def run(*args, check=True):
        proc = subprocess.run([env["HELM_BIN"], "template", "graph", str(CHART), "--namespace", "neo4j", *args],
                              capture_output=True, text=True, check=False, env={**os.environ, **env})
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc
    return run


def objects(proc) -> dict:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in yaml.safe_load_all(proc.stdout) if doc}


def neo4j_container(objs: dict) -> dict:
    return objs[("StatefulSet", "graph")]["spec"]["template"]["spec"]["containers"][0]


def metrics_rules(objs: dict) -> list:
    return [rule for rule in objs[("NetworkPolicy", "graph")]["spec"]["ingress"]
            if any(port["port"] == 2004 for port in rule["ports"])]


@pytest.mark.parametrize("values", [ENTERPRISE, CLUSTER], ids=["standalone", "cluster"])
def test_enterprise_serves_metrics_to_the_managed_prometheus_agent_only(helm, values):
    objs = objects(helm(*values, *MANAGED_PROMETHEUS))
    config = objs[("ConfigMap", "graph-config")]["data"]
    assert config["NEO4J_server_metrics_enabled"] == "true"
    assert config["NEO4J_server_metrics_prometheus_enabled"] == "true"
    assert config["NEO4J_server_metrics_prometheus_endpoint"] == "0.0.0.0:2004"
    assert "NEO4J_server_metrics_prefix" not in config  # Neo4j's default prefix: neo4j_...
    assert {"name": "tcp-metrics", "containerPort": 2004, "protocol": "TCP"} in neo4j_container(objs)["ports"]
    # No Service (ClusterIP, headless, discovery or load balancer) carries the metrics port.
    for (kind, _name), obj in objs.items():
        if kind == "Service":
            assert all(port["port"] != 2004 and port.get("targetPort") not in (2004, "tcp-metrics")
                       for port in obj["spec"]["ports"])
    # One ingress rule for the port, admitting the ama-metrics replicas in kube-system and nothing else.
    (rule,) = metrics_rules(objs)
    assert rule["ports"] == [{"port": 2004, "protocol": "TCP"}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                             "podSelector": {"matchLabels": {"rsName": "ama-metrics"}}}]
    monitor = objs[("PodMonitor", "graph")]
    assert monitor["apiVersion"] == "azmonitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "neo4j"
    spec = monitor["spec"]
    assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "neo4j", "app.kubernetes.io/instance": "graph"}
    assert spec["namespaceSelector"] == {"matchNames": ["neo4j"]}
    assert spec["podMetricsEndpoints"] == [{"port": "tcp-metrics", "path": "/metrics", "interval": "30s"}]
    assert (spec["labelLimit"], spec["labelNameLengthLimit"], spec["labelValueLengthLimit"]) == (63, 511, 1023)
    # The selector matches the pods the StatefulSet makes.
    pod_labels = objs[("StatefulSet", "graph")]["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()


def test_enterprise_without_the_metrics_add_on_renders_no_pod_monitor(helm):
    """A cluster without managed Prometheus does not serve the PodMonitor API: the release still installs."""
    objs = objects(helm(*ENTERPRISE))
    assert not any(kind == "PodMonitor" for kind, _name in objs)
    assert objs[("ConfigMap", "graph-config")]["data"]["NEO4J_server_metrics_prometheus_enabled"] == "true"


def test_custom_port_interval_and_agent(helm):
    objs = objects(helm(*ENTERPRISE, *MANAGED_PROMETHEUS, "--set", "metrics.port=9404",
                        "--set", "metrics.podMonitor.interval=1m", "--set", "metrics.agentNamespace=monitoring",
                        "--set", "metrics.agentPodLabels.app=prometheus",
                        "--set", "metrics.agentPodLabels.rsName=null"))
    assert objs[("ConfigMap", "graph-config")]["data"]["NEO4J_server_metrics_prometheus_endpoint"] == "0.0.0.0:9404"
    assert {"name": "tcp-metrics", "containerPort": 9404, "protocol": "TCP"} in neo4j_container(objs)["ports"]
    rule = next(r for r in objs[("NetworkPolicy", "graph")]["spec"]["ingress"] if r["ports"][0]["port"] == 9404)
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                             "podSelector": {"matchLabels": {"app": "prometheus"}}}]
    assert objs[("PodMonitor", "graph")]["spec"]["podMetricsEndpoints"][0]["interval"] == "1m"


@pytest.mark.parametrize("values", [
    [],  # Community: Neo4j has no metrics endpoint
    [*ENTERPRISE, "--set", "metrics.enabled=false"],
], ids=["community", "enterprise-off"])
def test_no_metrics_rendered(helm, values):
    proc = helm(*values, *MANAGED_PROMETHEUS)
    objs = objects(proc)
    assert not any(kind == "PodMonitor" for kind, _name in objs)
    assert "metrics" not in proc.stdout.replace("the metrics port (Enterprise)", "")
    assert not metrics_rules(objs)
    assert all(port["name"] != "tcp-metrics" for port in neo4j_container(objs)["ports"])


def test_pod_monitor_can_be_turned_off(helm):
    objs = objects(helm(*ENTERPRISE, *MANAGED_PROMETHEUS, "--set", "metrics.podMonitor.enabled=false"))
    assert not any(kind == "PodMonitor" for kind, _name in objs)
    assert metrics_rules(objs)


@pytest.mark.parametrize("value, message", [
    ("metrics.port=7687", "'/metrics/port': 'not' failed"),
    ("metrics.port=80", "'/metrics/port': minimum: got 80, want 1,024"),
    ("metrics.podMonitor.interval=30sec", "'/metrics/podMonitor/interval': '30sec' does not match pattern"),
    ("metrics.agentNamespace=", "'/metrics/agentNamespace': minLength: got 0, want 1"),
])
def test_schema_rejects_bad_metrics_values(helm, value, message):
    proc = helm(*ENTERPRISE, "--set", value, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def test_rendered_metrics_manifests_pass_checkov(helm, tmp_path):
    if not CHECKOV.exists() and not shutil.which("checkov"):
        pytest.skip("checkov is not installed: `make setup` installs it in .venv-checkov")
    (tmp_path / "enterprise.yaml").write_text(helm(*ENTERPRISE, *MANAGED_PROMETHEUS).stdout)
    (tmp_path / "cluster.yaml").write_text(helm(*CLUSTER, *MANAGED_PROMETHEUS).stdout)
    checkov = str(CHECKOV) if CHECKOV.exists() else shutil.which("checkov")
    proc = subprocess.run([checkov, "-d", str(tmp_path), "--framework", "kubernetes", "--compact",
                           "--skip-download", "--output", "json"], capture_output=True, text=True, check=False)
    report = yaml.safe_load(proc.stdout)
    assert report["summary"]["failed"] == 0, proc.stdout[-6000:]
    assert report["summary"]["passed"] > 100
