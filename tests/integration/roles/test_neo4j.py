"""roles/neo4j against the kwok cluster of the test environment: real helm, helm-diff and kube-apiserver."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from kube_recorder import KubeRecorder
from testenv_client import case_host, localhost_play, run_cases, run_playbook

# A throwaway credential for the test cluster, made per run; the tests check it is never printed.
PASSWORD = f"Neo4j-{uuid.uuid4().hex[:16]}"
RELEASE = "graph"


@pytest.fixture(scope="module")
def kube(testenv_for):
    return testenv_for("kube")


@pytest.fixture()
def namespace(kube, request):
    name = f"n4-{request.node.name.replace('_', '-')[5:30].rstrip('-')}-{uuid.uuid4().hex[:4]}"
    try:
        yield name
    finally:
        kubectl(kube, "delete", "namespace", name, "--wait=false", check=False)
        # The role's StorageClass retains disks (reclaimPolicy Retain): drop the test's released volumes.
        pvs = json.loads(kubectl(kube, "get", "pv", "-o", "json").stdout)["items"]
        for pv in pvs:
            if (pv["spec"].get("claimRef") or {}).get("namespace") == name:
                kubectl(kube, "delete", "pv", pv["metadata"]["name"], "--wait=false", check=False)


def kubectl(env, *args, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([env["KUBECTL_BIN"], *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **env})
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def helm(env, *args, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([env["HELM_BIN"], *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **env})
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def get(env, namespace, kind, name) -> dict:
    return json.loads(kubectl(env, "-n", namespace, "get", kind, name, "-o", "json").stdout)


def history(env, namespace) -> list:
    return json.loads(helm(env, "history", RELEASE, "-n", namespace, "-o", "json").stdout)


def role_vars(namespace, **overrides) -> dict:
    return {"neo4j_namespace": namespace, "neo4j_release_name": RELEASE, "neo4j_password": PASSWORD,
            "neo4j_cpu": "1", "neo4j_memory": "2Gi", "neo4j_volumes": {"data": "10Gi"},
            "neo4j_helm_timeout": "2m", "neo4j_rollout_timeout": 120, **overrides}


def deploy(env, namespace, check=False, diff=False, verbosity=0, json_output=True, **overrides):
    play = localhost_play([{"name": "Deploy Neo4j", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.neo4j"}}],
                          vars_=role_vars(namespace, **overrides))
    return run_playbook(play, env=env, check=check, diff=diff, verbosity=verbosity, json_output=json_output)


def pods(env, namespace) -> list:
    return json.loads(kubectl(env, "-n", namespace, "get", "pods", "-l",
                              f"app.kubernetes.io/name=neo4j,app.kubernetes.io/instance={RELEASE}",
                              "-o", "json").stdout)["items"]


def test_install_idempotence_check_mode_and_upgrade(kube, namespace, tmp_path):
    started = time.monotonic()
    first = deploy(kube, namespace)
    first_install = time.monotonic() - started
    assert first.rc == 0, first
    assert first.task("Install or upgrade the Helm release")["changed"]

    # The no-op re-run, through a recording proxy: every object is read and found as wanted, nothing is written.
    with KubeRecorder(kube["KUBECONFIG"], tmp_path / "recorded.kubeconfig") as recorder:
        started = time.monotonic()
        again = deploy({**kube, **recorder.env}, namespace)
        noop = time.monotonic() - started
    assert again.rc == 0, again
    assert again.changed() == 0, again.changed_tasks()
    assert recorder.writes() == [], recorder.writes()
    assert recorder.log, "the re-run went through the recording proxy"
    print(f"\nneo4j role timing: first install {first_install:.1f}s, no-op re-run {noop:.1f}s")

    (installed,) = pods(kube, namespace)
    assert installed["spec"]["nodeName"].startswith("aks-neo4j-")
    storage_class = get(kube, "", "storageclass", "neo4j-premium")
    assert storage_class["provisioner"] == "disk.csi.azure.com"
    assert storage_class["reclaimPolicy"] == "Retain" and storage_class["allowVolumeExpansion"] is True
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    secret = get(kube, namespace, "secret", f"{RELEASE}-auth")
    assert base64.b64decode(secret["data"]["NEO4J_AUTH"]).decode() == f"neo4j/{PASSWORD}"

    # Check mode after a values change: helm-diff shows it, nothing moves.
    sts_before = get(kube, namespace, "statefulset", RELEASE)
    revisions = len(history(kube, namespace))
    check = deploy(kube, namespace, check=True, diff=True, neo4j_memory="3Gi")
    assert check.rc == 0, check
    release = check.task("Install or upgrade the Helm release")
    assert release["changed"]
    assert "3Gi" in release["diff"]["prepared"] and "2Gi" in release["diff"]["prepared"]
    sts_after = get(kube, namespace, "statefulset", RELEASE)
    assert sts_after["metadata"]["resourceVersion"] == sts_before["metadata"]["resourceVersion"]
    assert len(history(kube, namespace)) == revisions

    # Upgrade: a new image rolls out (a new pod, ready, running it).
    upgrade = deploy(kube, namespace, neo4j_image_tag="5.26.1-community")
    assert upgrade.rc == 0, upgrade
    assert upgrade.task("Install or upgrade the Helm release")["changed"]
    (pod,) = pods(kube, namespace)
    assert pod["spec"]["containers"][0]["image"] == "neo4j:5.26.1-community"
    assert pod["metadata"]["uid"] != installed["metadata"]["uid"] and all(c["ready"] for c in pod["status"]["containerStatuses"])
    sts = get(kube, namespace, "statefulset", RELEASE)
    assert sts["status"]["updateRevision"] == sts["status"]["currentRevision"]
    assert history(kube, namespace)[-1]["status"] == "deployed"


def test_broken_upgrade_rolls_back_and_next_run_converges(kube, namespace):
    assert deploy(kube, namespace).rc == 0
    # kwok never marks a container whose image tag is :never-ready as Ready: the role's rollout watch times out,
    # rolls back and says so (a container that cannot start ends the watch at once: tests/integration/realpod).
    broken = deploy(kube, namespace, neo4j_image_tag="never-ready", neo4j_rollout_timeout=15)
    assert broken.rc != 0
    msg = broken.task("Fail with what Neo4j said")["msg"]
    assert "no failure within neo4j_rollout_timeout=15s" in msg and "which is ready again" in msg, msg
    revisions = history(kube, namespace)
    assert revisions[-2]["status"] == "superseded"
    assert revisions[-1]["status"] == "deployed" and revisions[-1]["description"].startswith("Rollback to")
    sts = get(kube, namespace, "statefulset", RELEASE)
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "neo4j:5.26-community"
    good = deploy(kube, namespace)
    assert good.rc == 0, good
    assert good.changed() == 0, good.changed_tasks()
    (pod,) = pods(kube, namespace)
    assert pod["spec"]["containers"][0]["image"] == "neo4j:5.26-community"


def test_pending_upgrade_is_recovered(kube, namespace):
    assert deploy(kube, namespace).rc == 0
    values = helm(kube, "get", "values", RELEASE, "-n", namespace, "-o", "json").stdout
    chart = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "neo4j", "files", "chart")
    # A real interrupted run: `helm upgrade --wait` on an image that never becomes Ready, killed (SIGKILL,
    # as a lost AWX job or CI runner would) once it has applied the new StatefulSet and is waiting.
    # Helm has then written the release record as pending-upgrade and never gets to update it.
    values_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"{namespace}-values.json")
    with open(values_file, "w", encoding="utf-8") as handle:
        handle.write(values)
    upgrade = subprocess.Popen(  # pylint: disable=consider-using-with
        [kube["HELM_BIN"], "upgrade", RELEASE, chart, "-n", namespace, "-f", values_file,
         "--set", "image.tag=never-ready", "--wait", "--timeout", "5m"],
        env={**os.environ, **kube}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            image = get(kube, namespace, "statefulset", RELEASE)["spec"]["template"]["spec"]["containers"][0]["image"]
            if image.endswith(":never-ready") and history(kube, namespace)[-1]["status"] == "pending-upgrade":
                break
            time.sleep(0.5)
        else:
            pytest.fail("helm upgrade did not reach pending-upgrade")
    finally:
        upgrade.send_signal(signal.SIGKILL)
        upgrade.wait()
        os.unlink(values_file)
    assert history(kube, namespace)[-1]["status"] == "pending-upgrade"

    recovered = deploy(kube, namespace)
    assert recovered.rc == 0, recovered
    assert recovered.task("Roll the pending release back")["changed"]
    assert history(kube, namespace)[-1]["status"] == "deployed"
    (pod,) = pods(kube, namespace)
    assert pod["spec"]["containers"][0]["image"] == "neo4j:5.26-community"
    assert deploy(kube, namespace).changed() == 0


def test_volume_grows_in_place_and_never_shrinks(kube, namespace):
    assert deploy(kube, namespace).rc == 0
    pvc = get(kube, namespace, "pvc", f"data-{RELEASE}-0")
    sts = get(kube, namespace, "statefulset", RELEASE)
    (pod,) = pods(kube, namespace)

    check = deploy(kube, namespace, check=True, diff=True, neo4j_volumes={"data": "20Gi"})
    assert check.rc == 0, check
    assert get(kube, namespace, "pvc", f"data-{RELEASE}-0")["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert get(kube, namespace, "statefulset", RELEASE)["metadata"]["uid"] == sts["metadata"]["uid"]

    grown = deploy(kube, namespace, neo4j_volumes={"data": "20Gi"})
    assert grown.rc == 0, grown
    after = get(kube, namespace, "pvc", f"data-{RELEASE}-0")
    assert after["metadata"]["uid"] == pvc["metadata"]["uid"]
    assert after["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert after["status"]["capacity"]["storage"] == "20Gi"
    sts = get(kube, namespace, "statefulset", RELEASE)
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    (pod_after,) = pods(kube, namespace)
    assert pod_after["metadata"]["uid"] == pod["metadata"]["uid"], "the server must not restart"
    assert deploy(kube, namespace, neo4j_volumes={"data": "20Gi"}).changed() == 0

    shrink = deploy(kube, namespace, neo4j_volumes={"data": "10Gi"})
    assert shrink.rc != 0
    message = shrink.task("Refuse to shrink a volume")["results"][0]["msg"]
    assert "neo4j_volumes.data asks for 10Gi, less than the current 20Gi" in message
    assert get(kube, namespace, "pvc", f"data-{RELEASE}-0")["spec"]["resources"]["requests"]["storage"] == "20Gi"


def test_cluster_lands_on_neo4j_pool_spread_across_nodes_and_zones(kube, namespace):
    result = deploy(kube, namespace, neo4j_edition="enterprise", neo4j_accept_license_agreement="eval",
                    neo4j_servers=3, neo4j_zone_spread="DoNotSchedule")
    assert result.rc == 0, result
    servers = pods(kube, namespace)
    assert len(servers) == 3
    nodes = {pod["spec"]["nodeName"] for pod in servers}
    assert len(nodes) == 3 and all(node.startswith("aks-neo4j-") for node in nodes)
    zones = {get(kube, "", "node", node)["metadata"]["labels"]["topology.kubernetes.io/zone"] for node in nodes}
    assert zones == {"westeurope-1", "westeurope-2", "westeurope-3"}
    assert deploy(kube, namespace, neo4j_edition="enterprise", neo4j_accept_license_agreement="eval",
                  neo4j_servers=3, neo4j_zone_spread="DoNotSchedule").changed() == 0


def test_name_override_names_the_statefulset_the_role_waits_for(kube, namespace):
    # The chart names its resources <release>-<nameOverride>; the role must wait for and publish that name.
    overrides = {"neo4j_values_extra": {"nameOverride": "db"}}
    result = deploy(kube, namespace, **overrides)
    assert result.rc == 0, result.failed_tasks()
    sts = get(kube, namespace, "statefulset", f"{RELEASE}-db")
    assert sts["status"]["readyReplicas"] == 1
    facts = result.task("Publish the endpoints")["ansible_facts"]
    assert facts["neo4j_bolt_uri"] == f"neo4j://{RELEASE}-db.{namespace}.svc.cluster.local:7687"
    again = deploy(kube, namespace, **overrides)
    assert again.rc == 0 and again.changed() == 0, again.changed_tasks()


def test_password_never_printed(kube, namespace):
    result = deploy(kube, namespace, verbosity=3, json_output=False)
    assert result.rc == 0, result.stdout[-3000:]
    output = result.stdout + result.stderr
    encoded = base64.b64encode(f"neo4j/{PASSWORD}".encode()).decode()
    assert "Write the auth Secret" in output
    assert PASSWORD not in output and encoded not in output
    assert PASSWORD[6:] not in output


# validate.yml checks every rule in one task
CHECK_INPUTS = "Check the inputs"
BAD_INPUTS = {
    "volume size without unit": ({"neo4j_volumes": {"data": 10}}, CHECK_INPUTS,
                                 ["neo4j_volumes.data is '10'", "whole number of Gi or Ti"]),
    "volume sizes in other forms": ({"neo4j_volumes": {"data": "1.5Gi", "logs": "500M", "import": "abc"}},
                                    CHECK_INPUTS,
                                    ["neo4j_volumes.data is '1.5Gi', neo4j_volumes.logs is '500M', "
                                     "neo4j_volumes.import is 'abc':"]),
    "no data volume": ({"neo4j_volumes": {"logs": "8Gi"}}, CHECK_INPUTS,
                       ["neo4j_volumes has no 'data' size (it has: logs)"]),
    "unknown volume": ({"neo4j_volumes": {"data": "8Gi", "scratch": "1Gi"}},
                       CHECK_INPUTS,
                       ["neo4j_volumes names 'scratch'", "only data, logs, backups and import"]),
    "release name": ({"neo4j_release_name": "Graph_1"}, CHECK_INPUTS,
                     ["neo4j_release_name is 'Graph_1'", "at most 40 characters"]),
    "namespace": ({"neo4j_namespace": "Neo4j"}, CHECK_INPUTS,
                  ["neo4j_namespace is 'Neo4j'"]),
    "cluster on community": ({"neo4j_servers": 3}, CHECK_INPUTS,
                             ["neo4j_servers is 3 with neo4j_edition community",
                              "neo4j_servers is 1, or 3+ with neo4j_edition enterprise"]),
    "two servers": ({"neo4j_servers": 2, "neo4j_edition": "enterprise", "neo4j_accept_license_agreement": "eval"},
                    CHECK_INPUTS, ["neo4j_servers is 2 with neo4j_edition enterprise"]),
    "licence": ({"neo4j_edition": "enterprise"}, CHECK_INPUTS,
                ["neo4j_accept_license_agreement is 'no' with neo4j_edition enterprise", "yes", "eval"]),
    "public load balancer": ({"neo4j_load_balancer_enabled": True, "neo4j_load_balancer_internal": False},
                             CHECK_INPUTS,
                             ["neo4j_load_balancer_source_ranges is empty while the load balancer is public"]),
    "short password": ({"neo4j_password": "Ab1234x"}, CHECK_INPUTS,
                       ["neo4j_password is shorter than 8 characters", "neo4j_auth_existing_secret"]),
    "rotation without the current password": ({"neo4j_rotate_password": True}, CHECK_INPUTS,
                                              ["neo4j_rotate_password needs both neo4j_password",
                                               "neo4j_password_current"]),
    "key vault csi without a vault": ({"neo4j_keyvault_csi": True}, CHECK_INPUTS,
                                      ["neo4j_keyvault_csi needs neo4j_keyvault_name"]),
    "several problems at once": ({"neo4j_release_name": "Graph_1", "neo4j_servers": 2}, CHECK_INPUTS,
                                 ["neo4j_release_name is 'Graph_1'", "neo4j_servers is 2 with neo4j_edition"]),
    "disk SKU": ({"neo4j_storage_sku": "UltraSSD_LRS"}, "Validating arguments against arg spec",
                 ["neo4j_storage_sku must be one of", "got: UltraSSD_LRS"]),
}


@pytest.fixture(scope="module")
def bad_input_run(kube):
    """Every bad input in one ansible-playbook run: one inventory host per case, each with its own namespace."""
    namespaces = {case: f"n4-bad-{index}-{uuid.uuid4().hex[:4]}" for index, case in enumerate(sorted(BAD_INPUTS))}
    cases = {case: {**role_vars(namespaces[case]), **BAD_INPUTS[case][0]} for case in BAD_INPUTS}
    tasks = [{"name": "Deploy Neo4j", "ansible.builtin.include_role": {"name": "neo4j_azure.aks.neo4j"}}]
    result = run_cases(tasks, cases, env=kube)
    yield result, namespaces
    for name in namespaces.values():
        kubectl(kube, "delete", "namespace", name, "--wait=false", check=False)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_fail_before_anything_is_applied(kube, bad_input_run, case):
    result, namespaces = bad_input_run
    overrides, task, expected = BAD_INPUTS[case]
    host = case_host(case)
    assert host in result.stats, result
    failed = result.failed_tasks(host)
    assert len(failed) == 1 and task in failed[0][1], failed  # one task names every problem
    message = result.task(task, host=host)["msg"]
    for part in expected:
        assert part in message, message
    if "neo4j_password" in overrides:
        assert overrides["neo4j_password"] not in message  # the rule names the options, never the value
    assert result.changed(host) == 0
    namespace = overrides.get("neo4j_namespace", namespaces[case])
    assert kubectl(kube, "get", "namespace", namespace, check=False).returncode != 0
