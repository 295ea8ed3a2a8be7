"""The collection's Neo4j chart (roles/neo4j/files/chart) with the real helm: lint, render, schema, Checkov."""

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

VARIANTS = {
    "standalone": [],
    "cluster": ["neo4j.servers=3", "neo4j.edition=enterprise", "neo4j.acceptLicenseAgreement=eval",
                "persistence.logs.enabled=true", "persistence.backups.enabled=true",
                "persistence.import.enabled=true", "neo4j.plugins={apoc,graph-data-science}",
                "serviceAccount.workloadIdentityClientId=0b9a8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"],
    "tls": ["tls.enabled=true", "tls.secretName=neo4j-tls", "tls.boltLevel=OPTIONAL"],
    "lb-internal": ["services.loadBalancer.enabled=true", "services.loadBalancer.internalSubnet=snet-neo4j"],
    "lb-public": ["services.loadBalancer.enabled=true", "services.loadBalancer.internal=false",
                  "services.loadBalancer.sourceRanges={203.0.113.0/24}"],
}


@pytest.fixture(scope="module")
def helm(testenv_for):
    env = testenv_for("kube")
    return lambda *args: subprocess.run([env["HELM_BIN"], *args], capture_output=True, text=True, check=False,
                                        env={**os.environ, **env})


def render(helm, variant: str, release: str = "graph") -> dict:
    args = ["template", release, str(CHART), "--namespace", "neo4j"]
    for value in VARIANTS[variant]:
        args += ["--set", value]
    proc = helm(*args)
    assert proc.returncode == 0, proc.stderr
    docs = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def container(objects: dict, release: str = "graph") -> dict:
    return objects[("StatefulSet", release)]["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lint_is_clean(helm, variant):
    args = ["lint", str(CHART), "--strict"]
    for value in VARIANTS[variant]:
        args += ["--set", value]
    proc = helm(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_standalone(helm):
    objects = render(helm, "standalone")
    sts = objects[("StatefulSet", "graph")]
    pod = sts["spec"]["template"]["spec"]
    neo4j = container(objects)
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert neo4j["image"] == "neo4j:5.26-community"
    # Guaranteed QoS and memory settings derived from it (40 % heap, 40 % page cache of 8Gi less 512Mi).
    assert neo4j["resources"]["requests"] == neo4j["resources"]["limits"] == {"cpu": "2", "memory": "8Gi"}
    config = objects[("ConfigMap", "graph-config")]["data"]
    assert config["NEO4J_server_memory_heap_max__size"] == "3072m"
    assert config["NEO4J_server_memory_pagecache_size"] == "3072m"
    assert "NEO4J_ACCEPT_LICENSE_AGREEMENT" not in config
    # Password from the Secret as a file, never in the environment.
    assert {"name": "NEO4J_AUTH_PATH", "value": "/config/neo4j-auth/NEO4J_AUTH"} in neo4j["env"]
    assert not any(env.get("name") == "NEO4J_AUTH" for env in neo4j["env"])
    auth = next(v for v in pod["volumes"] if v["name"] == "auth")
    assert auth["secret"]["secretName"] == "graph-auth"
    # Scheduling on the AKS Neo4j pool, spread across zones.
    assert pod["nodeSelector"] == {"agentpool": "neo4j"}
    assert pod["tolerations"] == [{"key": "workload", "operator": "Equal", "value": "neo4j", "effect": "NoSchedule"}]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    # Hardening.
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["fsGroup"] == 7474
    assert neo4j["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False
    assert neo4j["livenessProbe"]["tcpSocket"]["port"] == "tcp-bolt"
    # Started = the HTTP API answers on loopback (opened after Bolt; the readiness probe asks there).
    assert neo4j["startupProbe"]["exec"]["command"] == ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7474"]
    # Ready only when every database Neo4j is asked to run is online (not when 7687 opens).
    readiness = neo4j["readinessProbe"]["exec"]["command"]
    assert readiness[:2] == ["/bin/bash", "-c"] and "SHOW DATABASES" in readiness[2]
    assert "/config/neo4j-auth/NEO4J_AUTH" in readiness[2]
    # No service links: NEO4J_SERVICE_HOST, NEO4J_PORT_7687_TCP_PORT ... would become rejected settings.
    assert pod["enableServiceLinks"] is False
    # Data volume on the role's StorageClass; labels the validate role selects on.
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "neo4j-premium"
    assert claim["spec"]["resources"]["requests"]["storage"] == "32Gi"
    assert pod_labels(sts).items() >= {"app.kubernetes.io/name": "neo4j", "app.kubernetes.io/instance": "graph"}.items()
    assert objects[("Service", "graph")]["spec"]["type"] == "ClusterIP"
    assert objects[("Service", "graph-headless")]["spec"]["clusterIP"] == "None"
    assert ("PodDisruptionBudget", "graph") in objects and ("NetworkPolicy", "graph") in objects
    assert not any(obj[0] in ("Role", "RoleBinding") for obj in objects)
    assert ("Service", "graph-lb") not in objects


def pod_labels(sts: dict) -> dict:
    return sts["spec"]["template"]["metadata"]["labels"]


def test_cluster(helm):
    objects = render(helm, "cluster")
    sts = objects[("StatefulSet", "graph")]
    config = objects[("ConfigMap", "graph-config")]["data"]
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["podManagementPolicy"] == "Parallel"
    assert container(objects)["image"] == "neo4j:5.26-enterprise"
    assert config["NEO4J_ACCEPT_LICENSE_AGREEMENT"] == "eval"
    assert config["NEO4J_dbms_cluster_discovery_resolver__type"] == "K8S"
    assert config["NEO4J_dbms_kubernetes_discovery_v2_service__port__name"] == "tcp-cluster"
    assert config["NEO4J_PLUGINS"] == '["apoc","graph-data-science"]'
    # One discovery Service per server, found by label; the Role lets the servers list them.
    discovery = [obj for (kind, name), obj in objects.items() if kind == "Service" and name.endswith("-discovery")]
    assert len(discovery) == 3
    selector = config["NEO4J_dbms_kubernetes_label__selector"].split("=")
    assert all(svc["metadata"]["labels"][selector[0]] == selector[1] for svc in discovery)
    assert all(svc["spec"]["publishNotReadyAddresses"] for svc in discovery)
    assert objects[("Role", "graph-discovery")]["rules"][0]["verbs"] == ["get", "list", "watch"]
    assert sts["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    assert [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]] == ["data", "logs", "backups", "import"]
    # Workload identity: annotation on the ServiceAccount, label on the pods.
    sa = objects[("ServiceAccount", "graph")]
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == "0b9a8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
    assert pod_labels(sts)["azure.workload.identity/use"] == "true"


def test_calendar_version_cluster(helm):
    proc = helm("template", "graph", str(CHART), "--set", "neo4j.version=2025.10",
                "--set", "neo4j.edition=enterprise", "--set", "neo4j.acceptLicenseAgreement=yes",
                "--set", "neo4j.servers=3")
    assert proc.returncode == 0, proc.stderr
    assert "image: neo4j:2025.10-enterprise" in proc.stdout
    # 2025.x renamed the v2 discovery setting and dropped the discovery version switch.
    assert "NEO4J_dbms_kubernetes_discovery_service__port__name" in proc.stdout
    assert "discovery_version" not in proc.stdout


def test_tls(helm):
    objects = render(helm, "tls")
    config = objects[("ConfigMap", "graph-config")]["data"]
    assert config["NEO4J_dbms_ssl_policy_bolt_enabled"] == "true"
    assert config["NEO4J_dbms_ssl_policy_https_enabled"] == "true"
    assert config["NEO4J_server_bolt_tls__level"] == "OPTIONAL"
    # Plain HTTP on loopback only (the readiness probe), none outside the pod.
    assert config["NEO4J_server_http_listen__address"] == "127.0.0.1:7474"
    assert "NEO4J_server_http_enabled" not in config
    pod = objects[("StatefulSet", "graph")]["spec"]["template"]["spec"]
    tls = next(v for v in pod["volumes"] if v["name"] == "tls")
    assert tls["secret"]["secretName"] == "neo4j-tls"
    ports = [p["name"] for p in objects[("Service", "graph")]["spec"]["ports"]]
    assert ports == ["tcp-bolt", "tcp-https"]


def test_load_balancer_internal(helm):
    svc = render(helm, "lb-internal")[("Service", "graph-lb")]
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
        "service.beta.kubernetes.io/azure-load-balancer-internal-subnet": "snet-neo4j"}
    assert "loadBalancerSourceRanges" not in svc["spec"]


def test_load_balancer_public(helm):
    objects = render(helm, "lb-public")
    svc = objects[("Service", "graph-lb")]
    assert "service.beta.kubernetes.io/azure-load-balancer-internal" not in (svc["metadata"].get("annotations") or {})
    assert svc["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]


@pytest.mark.parametrize("values, message", [
    (["neo4j.servers=2"], "'/neo4j/servers': 'not' failed"),
    (["neo4j.servers=3"], "'/neo4j/edition': value must be 'enterprise'"),
    (["neo4j.edition=enterprise"], "'/neo4j/acceptLicenseAgreement': value must be one of 'yes', 'eval'"),
    (["neo4j.version=4.4"], "'/neo4j/version': '4.4' does not match pattern"),
    (["resources.memory=8GB"], "'/resources/memory': '8GB' does not match pattern"),
    (["persistence.data.size=10G"], "'/persistence/data/size': '10G' does not match pattern"),
    (["tls.enabled=true"], "'/tls/secretName': minLength: got 0, want 1"),
    (["services.loadBalancer.enabled=true", "services.loadBalancer.internal=false"],
     "'/services/loadBalancer/sourceRanges': minItems: got 0, want 1"),
    (["neo4j.confg.x=1"], "additional properties 'confg' not allowed"),
])
def test_schema_rejects_bad_values(helm, values, message):
    args = ["template", "graph", str(CHART)]
    for value in values:
        args += ["--set", value]
    proc = helm(*args)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


def test_rendered_manifests_pass_checkov(helm, tmp_path):
    if not CHECKOV.exists() and not shutil.which("checkov"):
        pytest.skip("checkov is not installed: `make setup` installs it in .venv-checkov")
    for variant in VARIANTS:
        args = ["template", "graph", str(CHART), "--namespace", "neo4j"]
        for value in VARIANTS[variant]:
            args += ["--set", value]
        proc = helm(*args)
        assert proc.returncode == 0, proc.stderr
        (tmp_path / f"{variant}.yaml").write_text(proc.stdout)
    checkov = str(CHECKOV) if CHECKOV.exists() else shutil.which("checkov")
    proc = subprocess.run([checkov, "-d", str(tmp_path), "--framework", "kubernetes", "--compact",
                           "--skip-download", "--output", "json"], capture_output=True, text=True, check=False)
    report = yaml.safe_load(proc.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0, proc.stdout[-6000:]
    assert summary["passed"] > 300
    # Every skip carries its reason in the chart (checkov.io/skipN annotations).
    skipped = report["results"].get("skipped_checks", [])
    assert skipped and all(check["check_result"].get("suppress_comment") for check in skipped)
    assert {check["check_id"] for check in skipped} <= {"CKV_K8S_38", "CKV_K8S_40", "CKV_K8S_43"}
