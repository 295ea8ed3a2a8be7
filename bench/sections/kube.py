"""Section 2, Kubernetes: the neo4j role vs one kubernetes.core.helm task with the same chart, values and helm
options; API requests counted through `kubectl proxy -v=6`, helm invocations through a logging shim."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from measure import PLAYBOOKS, REPO, Bench, Samples, Section, log
from report import Panel, fmt, table
from testenv.components.base import kill_group, spawn, wait_until
from testenv_client import delete_namespace, helm, run_playbook

RELEASE = "neo4j"
VARIANTS = ("neo4j role", "kubernetes.core.helm")
MUTATING_HELM = ("upgrade", "install", "rollback", "uninstall")


class KubeProxy:
    """`kubectl proxy -v=6` in front of the kwok apiserver: every request a client sends is one log line, so
    requests are counted exactly per client (the shared apiserver's metrics mix in everyone else's)."""

    LINE = re.compile(r'"Response" verb="(?P<verb>[A-Z]+)" url="(?P<url>[^"]+)" status="(?P<status>[^"]*)"')

    def __init__(self, workdir: Path, env: dict):
        self.log_file = workdir / "kubectl-proxy.log"
        self.pid = spawn([env.get("KUBECTL_BIN", "kubectl"), "proxy", "--port=0", "-v=6"], self.log_file,
                         env={"KUBECONFIG": env["KUBECONFIG"]})

        def port():
            found = re.search(r"Starting to serve on 127\.0\.0\.1:(\d+)", self.log_file.read_text(errors="replace"))
            return int(found.group(1)) if found else 0
        self.port = wait_until(port, 30, "bench: kubectl proxy", self.log_file, self.pid)
        self.kubeconfig = workdir / "proxy.kubeconfig"
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "bench", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "bench", "user": {}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}]}))
        os.chmod(self.kubeconfig, 0o600)

    def mark(self) -> int:
        return self.log_file.stat().st_size

    def count(self, since: int) -> dict:
        with open(self.log_file, "rb") as fh:
            fh.seek(since)
            text = fh.read().decode(errors="replace")
        out = {"api_total": 0, "api_get": 0, "api_list": 0, "api_watch": 0, "api_writes": 0}
        writes = []
        for match in self.LINE.finditer(text):
            verb, url = match.group("verb"), match.group("url")
            out["api_total"] += 1
            if verb == "GET":
                if "watch=true" in url or "watch=1" in url:
                    out["api_watch"] += 1
                elif _is_collection(url):
                    out["api_list"] += 1
                else:
                    out["api_get"] += 1
            else:
                out["api_writes"] += 1
                path = re.sub(r"/namespaces/bench-[^/]+", "/namespaces/NS", url.split("?", 1)[0].split("/", 3)[-1])
                writes.append(f"{verb} /{path}")
        out["api_write_requests"] = ", ".join(sorted(set(writes)))
        return out

    def stop(self) -> None:
        kill_group(self.pid)


def _is_collection(url: str) -> bool:
    """/api/v1/namespaces/X/pods (list) vs /api/v1/namespaces/X/pods/Y (get); discovery paths count as get."""
    path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0].strip("/")
    parts = path.split("/")
    if parts[0] == "api":
        rest = parts[2:]
    elif parts[0] == "apis":
        rest = parts[3:]
    else:
        return False
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    return len(rest) == 1


class HelmShim:
    """A helm in front of the real one that logs each invocation (one line: its arguments)."""

    def __init__(self, workdir: Path, real_helm: str):
        self.log_file = workdir / "helm-calls.log"
        self.path = workdir / "helm"
        self.path.write_text("#!/bin/sh\n# bench: counts helm invocations, then runs the real helm\n"
                             f"printf '%s\\n' \"$*\" >> '{self.log_file}'\n"
                             f"exec '{real_helm}' \"$@\"\n")
        os.chmod(self.path, 0o755)
        self.log_file.touch()

    def mark(self) -> int:
        return len(self.log_file.read_text().splitlines())

    def calls(self, since: int) -> list:
        return self.log_file.read_text().splitlines()[since:]


def helm_revisions(env: dict, kubeconfig: str, release: str, namespace: str) -> int:
    proc = helm(env, "history", release, "-n", namespace, "-o", "json", "--kubeconfig", kubeconfig, check=False)
    return len(json.loads(proc.stdout)) if proc.returncode == 0 else 0


def remove_release(env: dict, namespace: str) -> None:
    """Uninstall the bench's release and delete its namespace with the volumes its claims retained."""
    helm(env, "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "2m", check=False)
    delete_namespace(env, namespace, wait=True)


def _variant_run(variant: str, ns: str, proxy: KubeProxy, shim: HelmShim, values_file: Path) -> tuple:
    """(playbook, the task whose time counts for the plain helm variant, extra vars) of one variant."""
    if variant == "neo4j role":
        # local_real_node false: the simulated kwok nodes (no container starts), as the plain helm variant
        return PLAYBOOKS / "kube_role.yml", None, {
            "neo4j_namespace": ns, "neo4j_kubeconfig": str(proxy.kubeconfig), "neo4j_helm_binary": str(shim.path),
            "bench_values_file": str(values_file), "local_real_node": False}
    return PLAYBOOKS / "kube_helm.yml", "Install or upgrade the release", {
        "bench_namespace": ns, "bench_release": RELEASE, "bench_kubeconfig": str(proxy.kubeconfig),
        "bench_helm_binary": str(shim.path), "bench_values_file": str(values_file),
        "bench_chart": str(REPO / "roles/neo4j/files/chart")}


def measure(bench: Bench):
    env = bench.env
    proxy = KubeProxy(bench.tmp, env)
    shim = HelmShim(bench.tmp, env.get("HELM_BIN", "helm"))
    values_file = bench.tmp / "neo4j-values.json"  # the role writes the values it passed; plain helm reads them
    samples = Samples(VARIANTS)
    suffix = secrets.token_hex(2)
    try:
        for rep in range(bench.runs):
            namespaces = []
            for variant in VARIANTS:
                ns = f"bench-{'role' if variant == 'neo4j role' else 'helm'}-{suffix}-{rep}"
                namespaces.append(ns)
                path, task_name, extra = _variant_run(variant, ns, proxy, shim, values_file)
                for phase in ("first", "no-op"):
                    if phase == "no-op" and variant == "neo4j role":
                        extra.pop("bench_values_file", None)
                    helm_before, mark = shim.mark(), proxy.mark()
                    run = run_playbook(path, env=env, extra_vars=extra, timeout=1800).require_ok(
                        f"kube {variant} {phase}")
                    time.sleep(0.2)  # let the proxy flush its last log line
                    helm_lines = shim.calls(helm_before)
                    tasks = [t for t in run.timed_tasks() if "/roles/neo4j/" in t.path] if task_name is None \
                        else [run.timed_task(task_name)]
                    sample = {"wall_s": run.wall, "task_s": sum(t.seconds for t in tasks),
                              "changed": any(t.changed for t in tasks),
                              "helm_calls": len(helm_lines),
                              "helm_mutating": sum(1 for line in helm_lines if line.split(" ")[0] in MUTATING_HELM),
                              "revisions": helm_revisions(env, str(proxy.kubeconfig), RELEASE, ns)}
                    sample.update(proxy.count(mark))
                    sample["helm_subcommands"] = " ".join(sorted({line.split(" ")[0] for line in helm_lines}))
                    samples.add(variant, phase, sample)
                    log(f"kube {variant} {phase} #{rep + 1}: {sample['helm_calls']} helm calls, "
                        f"{sample['api_total']} API requests ({sample['api_writes']} writes), "
                        f"revisions={sample['revisions']}, changed={sample['changed']}, {run.wall:.1f}s")
            for ns in namespaces:
                remove_release(env, ns)
    finally:
        proxy.stop()
    result = samples.summary()
    for key, stats in result.items():
        if key.endswith("/ no-op"):
            prev = result[key.replace("no-op", "first")]
            stats["revisions_created"] = {
                k: stats["revisions"][k] - prev["revisions"][k] if k in ("median", "min", "max") else
                stats["revisions"][k] for k in stats["revisions"]}
        else:
            stats["revisions_created"] = stats["revisions"]
    yield "kube", result


def markdown(results: dict, meta: dict) -> list:  # pylint: disable=unused-argument
    kube = results["kube"]
    rows = [[key, fmt(st["helm_calls"]), fmt(st["helm_mutating"]), fmt(st["api_total"]), fmt(st["api_get"]),
             fmt(st["api_list"]), fmt(st["api_watch"]), fmt(st["api_writes"]), fmt(st["revisions_created"]),
             fmt(st["task_s"], digits=2), fmt(st["wall_s"], digits=2), fmt(st["changed"])] for key, st in kube.items()]
    lines = ["## 2. Kubernetes: neo4j role vs one kubernetes.core.helm task (same chart and values)", ""]
    lines += table(["run", "helm calls", "helm upgrade/install", "API requests", "GET", "LIST", "WATCH", "writes",
                    "revisions created", "task time s", "playbook wall s", "changed"], rows)
    lines += ["", "API write requests (first repetition): " + "; ".join(
        f"{k}: {fmt(v.get('api_write_requests')) or 'none'}" for k, v in kube.items())]
    lines += ["", "helm subcommands seen: " + "; ".join(
        f"{k}: {fmt(v['helm_subcommands'])}" for k, v in kube.items()), ""]
    return lines


def panels(results: dict) -> list:
    kube = results["kube"]
    return [Panel("Kubernetes: time per run", list(VARIANTS),
                  [[kube[f"{v} / {p}"]["task_s"] for v in VARIANTS] for p in ("first", "no-op")],
                  ["first run", "no-op re-run"], "task time (s)")]


METHOD = """\
- Kubernetes: all clients use a kubeconfig pointing at `kubectl proxy -v=6`, whose log has one line per
  request sent to the apiserver (APF metrics are off in this kube-apiserver and `apiserver_request_total`
  mixes in the controllers and other users); helm is a shim that logs each invocation, then runs the real helm.
  Role and plain-helm releases go to fresh namespaces per repetition (deleted afterwards)."""

SECTION = Section(name="kube", needs=("kube",), measure=measure, markdown=markdown, panels=panels, method=METHOD)
