"""roles/neo4j deploys Neo4j into a real pod on the test environment's kubelet node (components/node.py) and
keeps its data: every check reads Neo4j's own data back over Bolt (the pod IP is reachable from the host).

The release is named `neo4j` on purpose: without enableServiceLinks: false Kubernetes would inject
NEO4J_SERVICE_HOST, NEO4J_PORT_7687_TCP_PORT, ... and the image's entrypoint turns them into settings that
Neo4j's strict validation rejects, so the pod never starts. The image is the project's fixture
(tests/testenv/node/build-images.sh), set here only; the chart's default stays the official image.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from testenv_client import localhost_play, real_pod_role_vars, run_playbook

# A test here includes the module fixtures' Neo4j install and, for backup/restore, stop/start cycles: minutes each
# on two shared cores.
pytestmark = pytest.mark.timeout(2400)

PASSWORD = f"Neo4j-{uuid.uuid4().hex[:16]}"
RELEASE = "neo4j"
NODES = 250
# The data volume's size the role is given: the volume growth test grows it, and the runs after it ask for the new
# size (the role refuses to shrink).
VOLUMES = {"data": "1Gi"}
# Chart values every run of the module gives from the test that set them on: a later run without them would change
# the pod template and restart the pod (the volume growth test asserts it does not).
VALUES: dict = {}


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
    out = real_pod_role_vars(env, namespace, RELEASE, PASSWORD)
    out["neo4j_values_extra"].update({**VALUES, **overrides.pop("values", {})})
    # APOC Core, baked into the fixture image (nothing can be downloaded here), installed by the image's
    # NEO4J_PLUGINS as the official image does.
    return {**out, "neo4j_volumes": dict(VOLUMES), "neo4j_plugins": ["apoc"], **overrides}


def deploy(env, namespace, timeout=1200, **overrides):
    play = localhost_play([{"name": "Deploy Neo4j", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.neo4j"}}],
                          vars_=role_vars(env, namespace, **overrides))
    return run_playbook(play, env=env, timeout=timeout)


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
        apoc = driver.execute_query("RETURN apoc.version() AS v", database_="neo4j").records[0]["v"]
    assert info.agent.startswith("Neo4j/5.26"), info.agent
    assert apoc.startswith("5.26."), apoc  # the plugin NEO4J_PLUGINS asked for is loaded


@pytest.mark.usefixtures("deployed")
def test_helm_upgrade_restarting_the_pod_keeps_every_node(env, namespace):
    before = pod(env, namespace)
    VALUES["podAnnotations"] = {"testenv/restart": "1"}
    upgrade = deploy(env, namespace)
    assert upgrade.rc == 0, upgrade.failure()
    assert upgrade.task("Install or upgrade the Helm release")["changed"]
    after = pod(env, namespace)
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert count(env, namespace) == NODES


@pytest.mark.usefixtures("deployed")
def test_a_setting_neo4j_rejects_fails_fast_with_its_message_and_rolls_back(env, namespace):
    before = pod(env, namespace)["metadata"]["labels"]["controller-revision-hash"]
    started = time.monotonic()
    rejected = deploy(env, namespace, neo4j_config={"server.no_such_setting": "x"})
    took = time.monotonic() - started
    assert rejected.rc != 0
    watched = rejected.timed_task("Wait until every server runs the new revision and is ready")
    msg = rejected.task("Fail with what Neo4j said")["msg"]
    print(f"\nreal pod: rejected setting failed after {watched.seconds:.1f}s of watching, {took:.1f}s in all "
          f"(rollback included): {msg}")
    # Neo4j's own words, at the first sign (not neo4j_rollout_timeout=600 s later), and the revision before back.
    assert "No declared setting with name: server.no_such_setting" in msg, msg
    assert "no failure within" not in msg and "which is ready again" in msg, msg
    assert watched.seconds < 300, watched
    assert PASSWORD not in rejected.stdout + rejected.stderr
    back = pod(env, namespace)
    assert back["metadata"]["labels"]["controller-revision-hash"] == before
    assert all(c["ready"] for c in back["status"]["containerStatuses"])
    assert count(env, namespace) == NODES


def validate(env, namespace, **overrides):
    role = {"name": "Validate Neo4j", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.validate"}}
    play = localhost_play([role],
                          vars_={"validate_namespace": namespace, "validate_release": RELEASE,
                                 "validate_kubeconfig": env["KUBECONFIG"], "validate_neo4j_password": PASSWORD,
                                 "validate_node_selector": {"kubernetes.io/hostname": env["TESTENV_REAL_NODE"]},
                                 "validate_rollout_timeout": 300, "validate_health_timeout": 120, **overrides})
    return run_playbook(play, env=env)


HEALTH_TASK = "Check Neo4j answers and its databases are online (port-forward to service neo4j)"


@pytest.mark.usefixtures("deployed")
def test_validate_reaches_neo4j_through_its_own_port_forward(env, namespace):
    # No validate_bolt_uri: the pod IP is not used; the health task tunnels through the API server and the kubelet.
    first = validate(env, namespace)
    assert first.rc == 0, first.failure()
    health = first.task(HEALTH_TASK)
    assert health["port_forward"]["pod"] == f"{RELEASE}-0" and health["port_forward"]["connections"] >= 1
    assert health["server"]["version"].startswith("5.26")
    assert {d["name"]: d["current_status"] for d in health["databases"]}["neo4j"] == "online"
    assert health["accepts_writes"] is True
    again = validate(env, namespace)
    assert again.rc == 0 and again.changed() == 0, again.changed_tasks()
    # The write probe rolled back: the data is exactly what was written.
    assert count(env, namespace) == NODES


@pytest.mark.usefixtures("deployed")
def test_validate_port_forward_to_a_service_without_a_ready_pod_names_it(env, namespace):
    result = validate(env, namespace, validate_port_forward_service="no-such-service", validate_rollout_timeout=0)
    assert result.rc != 0
    msg = result.task("Check Neo4j answers and its databases are online (port-forward to service no-such-service)")
    msg = msg["msg"]
    assert f"port_forward: cannot read service {namespace}/no-such-service: HTTP 404" in msg, msg


def scale(env, namespace, replicas):
    kubectl(env, "-n", namespace, "scale", "statefulset", RELEASE, f"--replicas={replicas}")
    if replicas == 0:
        kubectl(env, "-n", namespace, "wait", "pod", f"{RELEASE}-0", "--for=delete", "--timeout=300s", check=False,
                timeout=320)


def data_dir(env, namespace) -> str:
    pvc = json.loads(kubectl(env, "-n", namespace, "get", "pvc", f"data-{RELEASE}-0", "-o", "json").stdout)
    pv = json.loads(kubectl(env, "get", "pv", pvc["spec"]["volumeName"], "-o", "json").stdout)
    return pv["spec"]["local"]["path"]


def delete_pod_and_wait_ready(env, namespace) -> dict:
    """Delete the pod as a node drain does; the StatefulSet starts a new one on the same volume: the new pod."""
    before = pod(env, namespace)["metadata"]["uid"]
    kubectl(env, "-n", namespace, "delete", "pod", f"{RELEASE}-0", "--wait=true", "--timeout=300s", timeout=320)
    started = time.monotonic()
    deadline = started + 600
    while time.monotonic() < deadline:  # the replacement may not exist yet when `kubectl wait` looks
        if kubectl(env, "-n", namespace, "wait", "pod", f"{RELEASE}-0", "--for=condition=Ready", "--timeout=600s",
                   check=False, timeout=620).returncode == 0:
            break
        time.sleep(1)
    print(f"\nreal pod: recreated pod start to Ready {time.monotonic() - started:.1f}s")
    after = pod(env, namespace)
    assert after["metadata"]["uid"] != before
    return after


@pytest.mark.usefixtures("deployed")
def test_a_database_not_online_keeps_the_pod_unready_and_a_pod_deletion_brings_every_node_back(env, namespace):
    # The store of database neo4j made unreadable for Neo4j's user while it is stopped: the DBMS starts, the system
    # database comes online, neo4j fails. The readiness probe must keep the pod out of the Service; validate must
    # say which database, in Neo4j's words. Then the store is mended and the pod deleted (what a node drain does):
    # the new pod serves every node. One stop and two starts in all.
    store = os.path.join(data_dir(env, namespace), "databases", "neo4j")
    scale(env, namespace, 0)
    mode = os.stat(store).st_mode & 0o7777
    os.chmod(store, 0)
    try:
        scale(env, namespace, 1)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # until Neo4j has tried the database (its log says so)
            logs = kubectl(env, "-n", namespace, "logs", f"{RELEASE}-0", check=False).stdout
            if "Started." in logs or "neo4j" in logs and "failed" in logs.lower():
                break
            time.sleep(3)
        time.sleep(12)  # two readiness periods (5 s) after the start
        conditions = {c["type"]: c["status"] for c in pod(env, namespace)["status"].get("conditions", [])}
        assert conditions.get("Ready") == "False", conditions
        result = validate(env, namespace, validate_rollout_timeout=0, validate_health_timeout=10)
        assert result.rc != 0
        msg = result.task("Assert the StatefulSet, pods, volumes and Services")["msg"]
        assert f"pod {RELEASE}-0 is not Ready" in msg, msg
        assert "and Neo4j itself:" in msg and "database 'neo4j'" in msg, msg
    finally:
        os.chmod(store, mode)
    delete_pod_and_wait_ready(env, namespace)
    assert count(env, namespace) == NODES


# Backup and restore through the roles: their Jobs run the real script (roles/backup/files/neo4j-backup.sh) in
# containers on the real node, neo4j-admin in the Neo4j fixture image and `az storage` in the Azure CLI fixture
# image, against Azurite at the host's address; the connection string comes from a Secret (no workload identity
# webhook here). Community: the roles stop Neo4j for the dump and the load, then start it again.
CONTAINER = f"rp-backups-{uuid.uuid4().hex[:8]}"
EXTRA_NODES = 40


def job_vars(env, namespace) -> dict:
    node = {"kubernetes.io/hostname": env["TESTENV_REAL_NODE"]}
    tolerations = json.loads(env["TESTENV_REAL_NODE_VALUES"])["scheduling"]["tolerations"]
    common = {"namespace": namespace, "kubeconfig": env["KUBECONFIG"], "environment": "realpod",
              "storage_account_url": env["TESTENV_POD_BLOB_ENDPOINT"], "container": CONTAINER,
              "neo4j_image": f"neo4j-fixture:{env['TESTENV_REAL_NODE_IMAGE'].rsplit(':', 1)[1]}",
              "cli_image": env["TESTENV_REAL_NODE_AZCLI_IMAGE"].rsplit("/", 1)[1], "neo4j_edition": "community",
              "statefulset": RELEASE, "node_selector": node, "tolerations": tolerations,
              "storage_connection_string_secret": "blob-connection", "workload_identity_client_id": "not-used"}
    out = {f"backup_{k}": v for k, v in common.items() if k != "environment"}
    out.update({f"restore_{k}": v for k, v in common.items()})
    out.update({"backup_environment": "realpod", "backup_job_wait_timeout": 600, "restore_job_wait_timeout": 600,
                "backup_retention_enabled": False, "backup_retention_account_url": "", "restore_list_account_url": "",
                "validate_namespace": namespace, "validate_release": RELEASE, "validate_kubeconfig": env["KUBECONFIG"],
                "validate_neo4j_password": PASSWORD, "validate_node_selector": node, "validate_health_timeout": 300})
    return out


def role_run(env, namespace, role, tasks_from="main", **extra):
    include = {"name": f"neo4j_azure.aks.{role}", "tasks_from": tasks_from}
    play = localhost_play([{"name": f"Run {role}", "ansible.builtin.include_role": include}],
                          vars_={**job_vars(env, namespace), **extra})
    return run_playbook(play, env=env)


@pytest.fixture(scope="module", name="backed_up")
def fixture_backed_up(env, namespace, deployed):  # pylint: disable=unused-argument
    if not env.get("TESTENV_REAL_NODE_AZCLI_IMAGE") or not env.get("TESTENV_POD_BLOB_ENDPOINT"):
        pytest.skip("the real node has no Azure CLI image "
                    f"({env.get('TESTENV_REAL_NODE_AZCLI_UNAVAILABLE') or 'not built'}) or Azurite has no address "
                    "pods reach (TESTENV_POD_BLOB_ENDPOINT)")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "blob-connection", "namespace": namespace},
              "stringData": {"AZURE_STORAGE_CONNECTION_STRING": env["TESTENV_POD_STORAGE_CONNECTION_STRING"]}}
    proc = subprocess.run([env["KUBECTL_BIN"], "apply", "-f", "-"], input=json.dumps(secret), capture_output=True,
                          text=True, env={**os.environ, **env}, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    started = time.monotonic()
    result = role_run(env, namespace, "backup", tasks_from="run")
    assert result.rc == 0, result.failure()
    print(f"\nreal pod: backup (stop, dump + check + upload, start) {time.monotonic() - started:.1f}s")
    return result


def blobs(env) -> dict:
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
    service = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"])
    container = service.get_container_client(CONTAINER)
    return {b.name: b.metadata for b in container.list_blobs(include=["metadata"])}


def test_backup_job_uploads_a_complete_dump_and_neo4j_comes_back_with_its_data(env, namespace, backed_up):
    assert backed_up.task("Stop Neo4j for the offline dump (Community)")["changed"]
    uploaded = blobs(env)
    assert len(uploaded) == 1, uploaded
    name, metadata = next(iter(uploaded.items()))
    assert name.startswith("neo4j-backups/realpod/neo4j/neo4j-") and name.endswith(".dump"), name
    assert metadata["backup_complete"] == "true"
    assert count(env, namespace) == NODES


def test_restore_job_loads_the_backup_and_refuses_incomplete_or_corrupt_ones(env, namespace, backed_up):
    # pylint: disable=unused-argument
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
    with bolt(env, namespace) as driver:  # written after the backup: the restore must take them away
        driver.execute_query("UNWIND range(1, $n) AS i CREATE (:Probe {i: -i})", n=EXTRA_NODES, database_="neo4j")
    assert count(env, namespace) == NODES + EXTRA_NODES
    good = next(iter(blobs(env)))

    started = time.monotonic()
    restored = role_run(env, namespace, "restore", restore_backup_name=good)
    assert restored.rc == 0, restored.failure()
    print(f"\nreal pod: restore (stop, download + load, start, validate) {time.monotonic() - started:.1f}s")
    assert count(env, namespace) == NODES

    container = BlobServiceClient.from_connection_string(
        env["AZURE_STORAGE_CONNECTION_STRING"]).get_container_client(CONTAINER)
    # An upload that never finished (no backup_complete mark) is refused before Neo4j is touched.
    partial = good.replace(".dump", "").rsplit("-", 1)[0] + "-20991231T235959Z.dump"
    container.upload_blob(partial, b"half a dump")
    refused = role_run(env, namespace, "restore", restore_backup_name=partial)
    assert refused.rc != 0
    assert "No complete backup of realpod/neo4j matches restore_backup_name=" in \
        refused.task("Check the chosen backup is complete")["msg"]
    assert not [name for name, _r in refused.tasks() if name.endswith("Stop Neo4j")]

    # A blob marked complete whose content is not a dump: neo4j-admin refuses it, Neo4j starts again, data intact.
    # (Found here: `load --overwrite-destination` removes the database before it reads the archive, so this emptied
    # the database until the script's trial load into a scratch directory.)
    container.upload_blob(partial, b"not a neo4j dump at all", overwrite=True,
                          metadata={"backup_complete": "true", "database": "neo4j", "environment": "realpod"})
    corrupt = role_run(env, namespace, "restore", restore_backup_name=partial)
    assert corrupt.rc != 0
    assert "restore Job" in corrupt.failure() or "failed" in corrupt.failure()
    assert corrupt.task("Start Neo4j again")["changed"]
    assert count(env, namespace) == NODES


def claim(env, namespace) -> dict:
    return json.loads(kubectl(env, "-n", namespace, "get", "pvc", f"data-{RELEASE}-0", "-o", "json").stdout)


@pytest.mark.usefixtures("deployed")
def test_volume_growth_recreates_the_statefulset_and_keeps_every_node(env, namespace):
    before, server = claim(env, namespace), pod(env, namespace)
    sts = json.loads(kubectl(env, "-n", namespace, "get", "statefulset", RELEASE, "-o", "json").stdout)
    grown = deploy(env, namespace, neo4j_volumes={"data": "2Gi"})
    assert grown.rc == 0, grown.failure()
    VOLUMES["data"] = "2Gi"
    after = claim(env, namespace)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert after["status"]["capacity"]["storage"] == "2Gi"
    again = json.loads(kubectl(env, "-n", namespace, "get", "statefulset", RELEASE, "-o", "json").stdout)
    assert again["metadata"]["uid"] != sts["metadata"]["uid"]  # re-created with the new volumeClaimTemplates
    assert again["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    # The orphaned pod was adopted: Neo4j did not restart, and it serves every node.
    assert pod(env, namespace)["metadata"]["uid"] == server["metadata"]["uid"]
    assert count(env, namespace) == NODES
    assert deploy(env, namespace).changed() == 0


@pytest.mark.usefixtures("deployed")
def test_uninstall_and_reinstall_keep_every_node(env, namespace):
    before = claim(env, namespace)
    volume = json.loads(kubectl(env, "get", "pv", before["spec"]["volumeName"], "-o", "json").stdout)
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    play = localhost_play([{"name": "Uninstall Neo4j", "ansible.builtin.include_role": {
        "name": "neo4j_azure.aks.neo4j", "tasks_from": "uninstall"}}], vars_=role_vars(env, namespace))
    gone = run_playbook(play, env=env)
    assert gone.rc == 0, gone.failure()
    assert gone.task("Remove the Neo4j Helm release")["changed"]
    kubectl(env, "-n", namespace, "wait", "pod", f"{RELEASE}-0", "--for=delete", "--timeout=300s", check=False,
            timeout=320)
    assert kubectl(env, "-n", namespace, "get", "statefulset", RELEASE, check=False).returncode != 0
    kept = claim(env, namespace)
    assert kept["metadata"]["uid"] == before["metadata"]["uid"] and kept["status"]["phase"] == "Bound"

    started = time.monotonic()
    back = deploy(env, namespace)
    assert back.rc == 0, back.failure()
    print(f"\nreal pod: reinstall on the kept volume to Ready {time.monotonic() - started:.1f}s")
    assert back.task("Install or upgrade the Helm release")["changed"]
    assert claim(env, namespace)["metadata"]["uid"] == before["metadata"]["uid"]
    assert count(env, namespace) == NODES


def container_cgroup(running: dict, container: str = "neo4j") -> Path:
    """The memory cgroup (v1) of a container of the pod on the real node: <root>/kubepods/pod<uid>/<container id>."""
    status = next(c for c in running["status"]["containerStatuses"] if c["name"] == container)
    cid = status["containerID"].split("://", 1)[1]
    found = glob.glob(f"/sys/fs/cgroup/memory/**/pod{running['metadata']['uid']}/{cid}", recursive=True)
    assert found, f"no memory cgroup for container {cid} of pod {running['metadata']['name']}"
    return Path(found[0])


def cgroup_rss(cgroup: Path) -> int:
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return int(stat["total_rss"])


LOAD_BATCHES, LOAD_BATCH = 20, 10000


def quantity_bytes(setting: str) -> int:
    """Bytes of a Neo4j memory setting as SHOW SETTINGS gives it back ("614.00MiB", "3.00GiB", "614m")."""
    number = float("".join(c for c in setting if c.isdigit() or c == "."))
    unit = setting.lstrip("0123456789.").lower()[:1]
    return int(number * {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(unit, 1))


@pytest.mark.usefixtures("deployed")
def test_memory_stays_inside_the_container_limit_under_a_write_load(env, namespace):
    # The chart's default split (heap and page cache from resources.memory), a write load in the pod, and the
    # container's resident memory sampled from its cgroup every 0.2 s: no OOM kill, the peak under the limit, and
    # the JVM's own figures (queryJmx) printed as the evidence for the split.
    running = pod(env, namespace)
    restarts = running["status"]["containerStatuses"][0]["restartCount"]
    cgroup = container_cgroup(running)
    limit = int((cgroup / "memory.limit_in_bytes").read_text())
    samples, stop = [cgroup_rss(cgroup)], threading.Event()

    def sample():
        while not stop.wait(0.2):
            samples.append(cgroup_rss(cgroup))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        with bolt(env, namespace) as driver:
            for batch in range(LOAD_BATCHES):
                driver.execute_query("UNWIND range(1, $n) AS i CREATE (:Load {b: $b, i: i, s: randomUUID() + "
                                     "randomUUID() + randomUUID() + randomUUID() + randomUUID()})",
                                     n=LOAD_BATCH, b=batch, database_="neo4j")
            driver.execute_query("MATCH (n:Load) RETURN count(n.s) AS n", database_="neo4j")
            jmx = {r["name"]: r["attributes"] for r in driver.execute_query(
                "CALL dbms.queryJmx('java.lang:type=Memory') YIELD name, attributes RETURN name, attributes",
                database_="neo4j").records}
            settings = {r["name"]: r["value"] for r in driver.execute_query(
                "SHOW SETTINGS YIELD name, value WHERE name STARTS WITH 'server.memory.' RETURN name, value",
                database_="system").records}
        loaded = time.monotonic() - started
    finally:
        stop.set()
        sampler.join(5)
    after = pod(env, namespace)["status"]["containerStatuses"][0]
    memory = next(iter(jmx.values()))
    heap = memory["HeapMemoryUsage"]["value"]["properties"]
    non_heap = memory["NonHeapMemoryUsage"]["value"]["properties"]
    mib = 1024 * 1024
    print(f"\nreal pod memory: limit {limit // mib} MiB, heap {settings.get('server.memory.heap.max_size')}, page "
          f"cache {settings.get('server.memory.pagecache.size')}; {LOAD_BATCHES * LOAD_BATCH} nodes written in "
          f"{loaded:.1f}s; container RSS {samples[0] // mib} MiB before, {max(samples) // mib} MiB peak "
          f"({max(samples) * 100 // limit}% of the limit); JVM heap used {heap['used'] // mib} of "
          f"{heap['committed'] // mib} MiB committed, non-heap used {non_heap['used'] // mib} MiB")
    assert after["restartCount"] == restarts and "OOMKilled" not in json.dumps(after.get("lastState", {}))
    oom = (cgroup / "memory.oom_control").read_text()
    assert "oom_kill 0" in oom or "oom_kill " not in oom, oom
    assert max(samples) < limit
    # The page cache fills only as far as the store: at most the store's size of it is in the peak. With the page
    # cache full (a store larger than it, as in production), the same load would need the peak less that part plus
    # the whole page cache; the split must keep that under 90 % of the limit (the rest: the OS's cache of the
    # transaction logs, spikes).
    store = sum(f.stat().st_size for f in Path(data_dir(env, namespace), "databases").rglob("*") if f.is_file())
    pagecache = quantity_bytes(settings["server.memory.pagecache.size"])
    projected = max(samples) - min(store, pagecache) + pagecache
    print(f"real pod memory: store {store // mib} MiB; with a full page cache about {projected // mib} MiB, "
          f"{projected * 100 // limit}% of the limit; besides heap and page cache about "
          f"{(max(samples) - heap['committed'] - min(store, pagecache)) // mib} MiB")
    assert projected <= 0.9 * limit, f"a full page cache would take the pod to {projected // mib} MiB of {limit // mib}"
    with bolt(env, namespace) as driver:  # the load's nodes go; the :Probe nodes stay
        with driver.session(database="neo4j") as session:  # IN TRANSACTIONS: an implicit (auto-commit) one
            session.run("MATCH (n:Load) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 20000 ROWS").consume()
    assert count(env, namespace) == NODES


@pytest.mark.usefixtures("deployed")
def mounted_auth_sha256(env, namespace) -> str:
    """sha256 of the auth file as the pod sees it (kubelet refreshes a Secret volume a minute or so after a change)."""
    out = kubectl(env, "-n", namespace, "exec", f"{RELEASE}-0", "-c", "neo4j", "--", "sha256sum",
                  "/config/neo4j-auth/NEO4J_AUTH").stdout
    return out.split()[0]


class ReadyWatch(threading.Thread):
    """Samples the pod's Ready condition every second until stopped: a rotation must never take it off the
    Service."""

    def __init__(self, env, namespace):
        super().__init__(daemon=True)
        self.env, self.namespace, self.samples, self._stop_event = env, namespace, [], threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            proc = kubectl(self.env, "-n", self.namespace, "get", "pod", f"{RELEASE}-0", "-o",
                           "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)
            self.samples.append((time.monotonic(), proc.stdout.strip()))
            self._stop_event.wait(1)

    def stop(self) -> list:
        self._stop_event.set()
        self.join(timeout=30)
        return self.samples


@pytest.mark.usefixtures("deployed")
def test_password_rotation_reaches_the_neo4j_in_the_pod_keeps_it_ready_and_locks_no_one_out(env, namespace):
    # Last in this module: the pod's password changes. The role's rotation task tunnels to the pod itself. Then, until
    # kubelet refreshes the mounted Secret, Neo4j has the new password and the pod's copy the old one: the readiness
    # probe must neither take the pod off the Service nor, asking again and again with the refused password, lock the
    # neo4j user out for the clients that have the new one (Neo4j locks a user after 3 failed logins).
    import neo4j  # pylint: disable=import-outside-toplevel
    new = f"Rotated-{uuid.uuid4().hex[:16]}"
    watch = ReadyWatch(env, namespace)
    watch.start()
    try:
        # No rollout (the auth Secret is not in the pod template): minutes here would be a hang, and the harness
        # prints where it hung (PlaybookTimeout: the stacks of the module processes).
        rotated = deploy(env, namespace, timeout=420, neo4j_password=new, neo4j_password_current=PASSWORD,
                         neo4j_rotate_password=True)
        assert rotated.rc == 0, rotated.failure()
        task = "Rotate the neo4j user's password on the running DBMS (port-forward to service neo4j)"
        assert rotated.task(task)["changed"]
        wanted = hashlib.sha256(f"neo4j/{new}".encode()).hexdigest()
        stale_after_rotation = mounted_auth_sha256(env, namespace) != wanted
        logins, deadline = 0, time.monotonic() + 240
        while mounted_auth_sha256(env, namespace) != wanted:  # the window: Neo4j new, the pod's copy old
            assert time.monotonic() < deadline, "kubelet did not refresh the auth Secret volume within 240 s"
            assert count_with(env, namespace, new) == NODES  # AuthenticationRateLimit here: the probe locked it
            logins += 1
            time.sleep(3)
        time.sleep(12)  # two readiness periods with the refreshed copy
        assert count_with(env, namespace, new) == NODES
    finally:
        samples = watch.stop()
    print(f"\nreal pod: rotation window (Neo4j new, pod copy old) {'seen' if stale_after_rotation else 'not seen'}, "
          f"{logins} logins with the new password in it, {len(samples)} readiness samples")
    assert samples and all(ready == "True" for _t, ready in samples), [r for _t, r in samples]
    with pytest.raises(neo4j.exceptions.AuthError):
        count_with(env, namespace, PASSWORD)
    again = deploy(env, namespace, timeout=420, neo4j_password=new, neo4j_password_current=PASSWORD,
                   neo4j_rotate_password=True)
    assert again.rc == 0, again.failure()
    assert not again.task(task)["changed"]
    assert new not in again.stdout and new not in rotated.stdout


def count_with(env, namespace, password) -> int:
    with bolt(env, namespace, password=password) as driver:
        return driver.execute_query("MATCH (n:Probe) RETURN count(n) AS n", database_="neo4j").records[0]["n"]
