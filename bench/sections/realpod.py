"""Section 7, the paths of a real subscription (issue 16 target 6): Neo4j in a real pod, and the Entra ID login.

- Real pod: the neo4j role installs a release into a fresh namespace on the test environment's kubelet node (the
  fixture image, the node's StorageClass, as tests/integration/realpod). A thread polls from the playbook's start:
  the pod's IP, then a `RETURN 1` over Bolt with the password every 0.2 s. Figures from the helm task's start (json
  callback): to the first Bolt answer, to the pod's Ready condition, to the role's watch seeing the rollout ready.
- kubelogin: playbooks/site.yml on inventories/local (its kubeconfig logs in through kubelogin, spn) twice with one
  token cache, empty at the start as an AWX job's: the AKS token requests the ARM double's Entra endpoint issued
  during each run.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import datetime
from pathlib import Path

from measure import REPO, Bench, Section, log, summarize
from report import fmt, table
from testenv.arm_double.client import ArmDoubleClient, azure_credential_env
from testenv_client import delete_namespace, helm, kubectl, localhost_play, real_pod_role_vars, run_playbook

RELEASE = "bench"
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


class BoltWatch(threading.Thread):
    """The first moment the release's pod answers `RETURN 1` over Bolt with the password (epoch seconds)."""

    def __init__(self, env: dict, namespace: str, password: str):
        super().__init__(daemon=True)
        self.env, self.namespace, self.password = env, namespace, password
        self.answered: float | None = None
        self.attempts = 0
        self.stop = threading.Event()

    def _ip(self) -> str:
        proc = kubectl(self.env, "-n", self.namespace, "get", "pod", f"{RELEASE}-0", "-o",
                       "jsonpath={.status.podIP}", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def run(self):
        import neo4j  # pylint: disable=import-outside-toplevel
        ip = ""
        while not self.stop.is_set() and self.answered is None:
            ip = ip or self._ip()
            if ip:
                self.attempts += 1
                try:
                    with neo4j.GraphDatabase.driver(f"bolt://{ip}:7687", auth=("neo4j", self.password),
                                                    connection_timeout=1, max_transaction_retry_time=0) as driver:
                        driver.execute_query("RETURN 1")
                    self.answered = time.time()
                    return
                except Exception:  # pylint: disable=broad-except  # not up yet: any error means "try again"
                    pass
            self.stop.wait(0.2)


def _ready_at(env: dict, namespace: str) -> float | None:
    proc = kubectl(env, "-n", namespace, "get", "pod", f"{RELEASE}-0", "-o", "json", check=False)
    if proc.returncode != 0:
        return None
    for cond in json.loads(proc.stdout)["status"].get("conditions", []):
        if cond["type"] == "Ready" and cond["status"] == "True":
            return datetime.fromisoformat(cond["lastTransitionTime"].replace("Z", "+00:00")).timestamp()
    return None


def _install(bench: Bench, rep: int, suffix: str) -> dict:
    namespace = f"bench-rp-{suffix}-{rep}"
    password = f"Bench-{secrets.token_hex(8)}"
    kubectl(bench.env, "create", "namespace", namespace)
    watch = BoltWatch(bench.env, namespace, password)
    watch.start()
    try:
        play = localhost_play([{"name": "Deploy Neo4j", "ansible.builtin.include_role": {
            "name": "neo4j_azure.aks.neo4j"}}], vars_=real_pod_role_vars(bench.env, namespace, RELEASE, password))
        run = run_playbook(play, env=bench.env, timeout=1200)
        watch.join(120)
        watch.stop.set()
        installed = run.timed_task("Install or upgrade the Helm release")
        watched = run.timed_task("Wait until every server runs the new revision and is ready")
        start = installed.end - installed.seconds
        ready = _ready_at(bench.env, namespace)
        sample = {"rc": run.rc, "role_s": sum(t.seconds for t in run.timed_tasks()), "wall_s": run.wall,
                  "helm_apply_s": installed.seconds,
                  "to_bolt_s": watch.answered - start if watch.answered else None,
                  "to_ready_s": ready - start if ready else None,
                  "to_role_ready_s": watched.end - start, "watch_polls": watched.result.get("attempts"),
                  "bolt_attempts": watch.attempts}
        log(f"real pod #{rep + 1}: rc={run.rc} helm start -> Bolt {fmt_s(sample['to_bolt_s'])}, -> Ready "
            f"{fmt_s(sample['to_ready_s'])}, -> role saw ready {sample['to_role_ready_s']:.1f}s")
        return sample
    finally:
        watch.stop.set()
        helm(bench.env, "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "3m", check=False)
        delete_namespace(bench.env, namespace, wait=True)


def fmt_s(value) -> str:
    return "n/a" if value is None else f"{value:.1f}s"


def _kubelogin(bench: Bench) -> dict:
    env = {**bench.env, **azure_credential_env(bench.env), "XDG_CACHE_HOME": str(bench.tmp / "kubelogin-cache")}
    arm = ArmDoubleClient(env)
    missing = str(Path(env["TESTENV_STATE_DIR"]) / "no-kubeconfig-outside-the-roles")
    out = {}
    for phase in ("first job (empty token cache)", "second run (same cache)"):
        before = arm.counters().get(f"Entra_tokens_issued:{AKS_SERVER_APP_ID}", 0)
        run = run_playbook(REPO / "playbooks/site.yml", env=env, inventory=str(REPO / "inventories/local"),
                           extra_env={"KUBECONFIG": missing, "K8S_AUTH_KUBECONFIG": missing}, timeout=1800)
        tokens = arm.counters().get(f"Entra_tokens_issued:{AKS_SERVER_APP_ID}", 0) - before
        out[phase] = {"rc": run.rc, "wall_s": run.wall, "changed": run.changed(None), "aks_tokens": tokens}
        log(f"kubelogin {phase}: rc={run.rc} {run.wall:.1f}s, {tokens} AKS token requests")
    return out


def measure(bench: Bench):
    if not bench.env.get("TESTENV_REAL_NODE"):
        raise RuntimeError("the test environment has no real node: "
                           f"{bench.env.get('TESTENV_REAL_NODE_UNAVAILABLE', 'testenv.py up did not start one')}")
    suffix = secrets.token_hex(2)
    samples = [_install(bench, rep, suffix) for rep in range(bench.runs)]
    yield "realpod", summarize(samples)
    yield "kubelogin", _kubelogin(bench)


def markdown(results: dict, meta: dict) -> list:  # pylint: disable=unused-argument
    lines = ["## 7. Real pod and kubelogin", ""]
    if "realpod" in results:
        st = results["realpod"]
        lines += table(["neo4j role, first install on the real node", "exit code", "role task time s",
                        "helm apply s", "helm start -> Bolt answers s", "-> pod Ready s", "-> role sees ready s",
                        "role watch polls"],
                       [["install", fmt(st.get("rc")), fmt(st.get("role_s")), fmt(st.get("helm_apply_s")),
                         fmt(st.get("to_bolt_s")), fmt(st.get("to_ready_s"), digits=0), fmt(st.get("to_role_ready_s")),
                         fmt(st.get("watch_polls"), digits=0)]])
        lines.append("")
    if "kubelogin" in results:
        rows = [[phase, str(r["rc"]), f"{r['wall_s']:.1f}", str(r["changed"]), str(r["aks_tokens"])]
                for phase, r in results["kubelogin"].items()]
        lines += table(["site.yml on inventories/local (kubelogin spn)", "exit code", "wall s", "changed",
                        "AKS token requests"], rows)
        lines.append("")
    return lines


METHOD = """\
- Real pod: the neo4j role's first install into a fresh namespace on the kubelet node (fixture image, 1 CPU,
  2Gi); from the start of the helm task (json callback) to the first `RETURN 1` answered over Bolt (polled every
  0.2 s from a thread), to the pod's Ready condition (its lastTransitionTime: whole seconds) and to the end of the
  role's rollout watch; release and namespace removed after each repetition.
- kubelogin: site.yml on inventories/local twice with one kubelogin token cache, empty at the start; AKS token
  requests from the ARM double's Entra counter."""

SECTION = Section(name="realpod", needs=None, measure=measure, markdown=markdown, method=METHOD,
                  keys=("realpod", "kubelogin"))
