"""roles/neo4j deploys Neo4j into a real pod on the test environment's kubelet node (components/node.py) and
keeps its data: every check reads Neo4j's own data back over Bolt (the pod IP is reachable from the host).

The release is named `neo4j` on purpose: without enableServiceLinks: false Kubernetes would inject
NEO4J_SERVICE_HOST, NEO4J_PORT_7687_TCP_PORT, ... and the image's entrypoint turns them into settings that
Neo4j's strict validation rejects, so the pod never starts. The image is the project's fixture
(tests/testenv/node/build-images.sh), set here only; the chart's default stays the official image.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest

from testenv_client import localhost_play, run_playbook

PASSWORD = f"Neo4j-{uuid.uuid4().hex[:16]}"
RELEASE = "neo4j"
NODES = 250


@pytest.fixture(scope="module", name="env")
def fixture_env(testenv_for):
    env = testenv_for("kube", "node")
    if env.get("TESTENV_REAL_NODE_UNAVAILABLE") or not env.get("TESTENV_REAL_NODE"):
        pytest.skip(f"no real node in the test environment: {env.get('TESTENV_REAL_NODE_UNAVAILABLE', 'not started')}")
    return env


@pytest.fixture(scope="module", name="namespace")
def fixture_namespace(env):
    name = f"rp-{uuid.uuid4().hex[:6]}"
    try:
        yield name
    finally:
        kubectl(env, "delete", "namespace", name, "--wait=false", check=False)
        for pv in json.loads(kubectl(env, "get", "pv", "-o", "json").stdout)["items"]:
            if (pv["spec"].get("claimRef") or {}).get("namespace") == name:
                kubectl(env, "delete", "pv", pv["metadata"]["name"], "--wait=false", check=False)


def kubectl(env, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
    proc = subprocess.run([env["KUBECTL_BIN"], *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **env}, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def role_vars(env, namespace, **overrides) -> dict:
    extra = json.loads(env["TESTENV_REAL_NODE_VALUES"])
    image = extra.pop("image")
    extra["image"] = {"pullPolicy": image["pullPolicy"]}
    extra.update(overrides.pop("values", {}))
    return {"neo4j_namespace": namespace, "neo4j_release_name": RELEASE, "neo4j_password": PASSWORD,
            "neo4j_image_repository": image["repository"], "neo4j_image_tag": image["tag"],
            "neo4j_storage_class_name": env["TESTENV_REAL_NODE_STORAGE_CLASS"],
            "neo4j_cpu": "2", "neo4j_memory": "2Gi", "neo4j_volumes": {"data": "1Gi"},
            "neo4j_helm_timeout": "10m", "neo4j_rollout_timeout": 600, "neo4j_values_extra": extra, **overrides}


def deploy(env, namespace, **overrides):
    play = localhost_play([{"name": "Deploy Neo4j", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.neo4j"}}],
                          vars_=role_vars(env, namespace, **overrides))
    return run_playbook(play, env=env)


def pod(env, namespace) -> dict:
    return json.loads(kubectl(env, "-n", namespace, "get", "pod", f"{RELEASE}-0", "-o", "json").stdout)


def bolt(env, namespace, password=PASSWORD):
    import neo4j  # pylint: disable=import-outside-toplevel
    ip = pod(env, namespace)["status"]["podIP"]
    return neo4j.GraphDatabase.driver(f"bolt://{ip}:7687", auth=("neo4j", password))


def count(env, namespace) -> int:
    with bolt(env, namespace) as driver:
        records = driver.execute_query("MATCH (n:Probe) RETURN count(n) AS n", database_="neo4j").records
        return records[0]["n"]


@pytest.fixture(scope="module", name="deployed")
def fixture_deployed(env, namespace):
    started = time.monotonic()
    first = deploy(env, namespace)
    assert first.rc == 0, first.failure()
    ready_after = time.monotonic() - started
    print(f"\nreal pod: role install to Ready {ready_after:.1f}s")
    with bolt(env, namespace) as driver:
        driver.execute_query("UNWIND range(1, $n) AS i CREATE (:Probe {i: i})", n=NODES, database_="neo4j")
    return first


def test_neo4j_runs_in_a_real_pod_and_serves_its_data(env, namespace, deployed):
    assert deployed.task("Install or upgrade the Helm release")["changed"]
    again = deploy(env, namespace)
    assert again.rc == 0, again.failure()
    assert again.changed() == 0, again.changed_tasks()
    running = pod(env, namespace)
    assert running["spec"]["nodeName"] == env["TESTENV_REAL_NODE"]
    assert running["spec"]["enableServiceLinks"] is False
    assert all(c["ready"] for c in running["status"]["containerStatuses"])
    assert count(env, namespace) == NODES
    # The container really runs the fixture's Neo4j (server version over Bolt, not a simulated pod).
    with bolt(env, namespace) as driver:
        info = driver.get_server_info()
    assert info.agent.startswith("Neo4j/5.26"), info.agent


@pytest.mark.usefixtures("deployed")
def test_helm_upgrade_restarting_the_pod_keeps_every_node(env, namespace):
    before = pod(env, namespace)
    upgrade = deploy(env, namespace, values={"podAnnotations": {"testenv/restart": "1"}})
    assert upgrade.rc == 0, upgrade.failure()
    assert upgrade.task("Install or upgrade the Helm release")["changed"]
    after = pod(env, namespace)
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert count(env, namespace) == NODES


@pytest.mark.usefixtures("deployed")
@pytest.mark.skipif(os.environ.get("TESTENV_REALPOD_EXTENDED") != "1",
                    reason="one more Neo4j start (minutes on 2 shared cores) is over CI's budget for these tests; "
                           "TESTENV_REALPOD_EXTENDED=1 runs it")
def test_pod_deletion_keeps_every_node(env, namespace):
    before = pod(env, namespace)
    kubectl(env, "-n", namespace, "delete", "pod", f"{RELEASE}-0", "--wait=true", "--timeout=300s",
            timeout=320)
    started = time.monotonic()
    kubectl(env, "-n", namespace, "wait", "pod", f"{RELEASE}-0", "--for=condition=Ready", "--timeout=600s",
            timeout=620)
    print(f"\nreal pod: recreated pod start to Ready {time.monotonic() - started:.1f}s")
    assert pod(env, namespace)["metadata"]["uid"] != before["metadata"]["uid"]
    assert count(env, namespace) == NODES
