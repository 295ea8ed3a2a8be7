"""The cost of a run: neo4j_azure.aks against the modules a user would otherwise pick, on the local test
environment (see bench/README.md).

    .venv/bin/python bench/run.py                 # everything, 5 runs per figure (make bench)
    .venv/bin/python bench/run.py --runs 3 --sections azure,kube
    .venv/bin/python bench/run.py --runs 1 --quick --out /tmp/bench   # a fast subset (smoke test)

Sections: azure (bicep_deployment / infra role vs azure_rm_deployment on a private ARM double), kube (neo4j
role vs a plain kubernetes.core.helm task, through a counting kubectl proxy and helm shim), health
(neo4j_health detection delay on a private Neo4j, and the cost of one check), site (playbooks/site.yml on
inventories/local, first run and no-op, share of each role). Each figure is the median of --runs runs, with
min and max. Writes <out>/<date>.md, <out>/<date>.png and <out>/<date>.json (raw, git-ignored).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
PLAYBOOKS = BENCH / "playbooks"
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "testenv"))

from testenv_client import ansible_env, bring_up  # noqa: E402  pylint: disable=wrong-import-position
from components.arm import (SERVER as ARM_SERVER, CLIENT_ID, SUBSCRIPTION_ID,  # noqa: E402
                            TENANT_ID, _write_certificates)
from components.base import free_port, kill_group, port_open, spawn, wait_until  # noqa: E402
from arm_double.client import ArmDoubleClient, module_defaults  # noqa: E402  pylint: disable=wrong-import-position

ALL_SECTIONS = ("azure", "kube", "health", "site")
QUICK_SECTIONS = ("azure", "health")
# The ARM double's "azure-like" profile: modelled LRO durations and Retry-After (15 s) times this scale. 1/15 makes
# the scaled Retry-After exactly 1 s (ARM sends whole seconds; the SDKs sleep Retry-After between polls), so the
# number of polls (duration / Retry-After) is the one the unscaled durations would give.
AZURE_LIKE_TIME_SCALE = 1 / 15
AZURE_PROFILES = ("instant", "azure-like")
AZURE_KEYS = {"instant": "azure", "azure-like": "azure_like"}  # keys in results (old results files: only "azure")
AZCOLLECTION_VENV = Path(os.environ.get("AZCOLLECTION_VENV", REPO / ".venv-azcollection"))


def log(msg: str) -> None:
    print(f"[bench] {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Running playbooks
# ---------------------------------------------------------------------------------------------------------------

def _iso(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Run:
    """One ansible-playbook run: rc, wall time (process start to exit) and its tasks from the json callback."""

    def __init__(self, rc: int, wall: float, data: dict, stderr: str, stdout: str):
        self.rc, self.wall, self.data, self.stderr, self.stdout = rc, wall, data, stderr, stdout

    def tasks(self) -> list:
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                dur = task["task"].get("duration", {})
                seconds = _iso(dur["end"]) - _iso(dur["start"]) if "end" in dur else 0.0
                for host, res in task.get("hosts", {}).items():
                    out.append({"name": task["task"]["name"], "path": task["task"].get("path", ""), "host": host,
                                "seconds": seconds, "end": _iso(dur["end"]) if "end" in dur else None,
                                "changed": bool(res.get("changed")), "failed": bool(res.get("failed")),
                                "skipped": bool(res.get("skipped")), "result": res})
        return out

    def task(self, name: str) -> dict:
        found = [t for t in self.tasks() if name in t["name"]]
        if not found:
            raise KeyError(f"no task like {name!r} (rc={self.rc}): {self.failure()}")
        return found[-1]

    def changed(self) -> int:
        return sum(s.get("changed", 0) for s in self.data.get("stats", {}).values())

    def failure(self) -> str:
        failed = [t for t in self.tasks() if t["failed"]]
        if failed:
            res = failed[0]["result"]
            return f"{failed[0]['name']}: {res.get('msg') or res.get('stderr') or res}"[:1500]
        return (self.stderr or self.stdout)[-1500:]


def playbook(path: Path, env: dict, extra_vars: dict | None = None, inventory: str = "localhost,",
             extra_env: dict | None = None, tmp: Path | None = None, timeout: int = 1800) -> Run:
    cmd = [str(REPO / ".venv" / "bin" / "ansible-playbook"), str(path), "-i", inventory]
    if extra_vars:
        vars_file = Path(tempfile.mkstemp(suffix=".json", dir=tmp)[1])
        vars_file.write_text(json.dumps(extra_vars))
        os.chmod(vars_file, 0o600)
        cmd += ["-e", f"@{vars_file}"]
    extra = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    extra.update(extra_env or {})
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(env, extra), cwd=REPO,
                          timeout=timeout, check=False)
    wall = time.perf_counter() - started
    try:
        data = json.loads(proc.stdout[proc.stdout.index("{"):])
    except ValueError:
        data = {}
    return Run(proc.returncode, wall, data, proc.stderr, proc.stdout)


def require_ok(run: Run, what: str) -> Run:
    if run.rc != 0:
        raise RuntimeError(f"{what} failed (rc={run.rc}): {run.failure()}")
    return run


# ---------------------------------------------------------------------------------------------------------------
# Statistics and results
# ---------------------------------------------------------------------------------------------------------------

def summarize(samples: list) -> dict:
    """{metric: {median, min, max, n}} over a list of {metric: number|bool} dicts (bools stay as 'all/any')."""
    out = {}
    keys = []
    for sample in samples:
        keys += [k for k in sample if k not in keys]
    for key in keys:
        values = [s[key] for s in samples if s.get(key) is not None]
        if not values:
            continue
        if all(isinstance(v, bool) for v in values):
            out[key] = {"values": values}
        elif all(isinstance(v, (int, float)) for v in values):
            out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                        "n": len(values)}
        else:
            out[key] = {"values": values}
    return out


def fmt(stat: dict | None, unit: str = "", digits: int = 1) -> str:
    if not stat:
        return "n/a"
    if "values" in stat:
        vals = stat["values"]
        if all(isinstance(v, bool) for v in vals):
            return "yes" if all(vals) else ("no" if not any(vals) else f"{sum(vals)}/{len(vals)} yes")
        return ", ".join(sorted({str(v) for v in vals}))

    def num(x):
        return f"{x:.{digits}f}" if isinstance(x, float) and not float(x).is_integer() else f"{int(x)}" \
            if float(x).is_integer() else f"{x:.{digits}f}"
    if stat["min"] == stat["max"]:
        return f"{num(stat['median'])}{unit}"
    return f"{num(stat['median'])}{unit} ({num(stat['min'])}–{num(stat['max'])})"


def machine() -> dict:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "n/a"
    cpu = "n/a"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_kb = 0
    try:
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    helm = os.environ.get("HELM_BIN", "helm")
    return {
        "nproc": os.cpu_count(), "memory_gib": round(mem_kb / 1048576, 1), "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "ansible_core": out([str(REPO / ".venv" / "bin" / "ansible"), "--version"]).splitlines()[0:1],
        "helm": out([helm, "version", "--short"]),
        "kubectl": out([os.environ.get("KUBECTL_BIN", "kubectl"), "version", "--client", "-o", "json"]),
        "azure_mgmt_resource": out([str(AZCOLLECTION_VENV / "bin" / "python"), "-c",
                                    "import importlib.metadata as m; print(m.version('azure-mgmt-resource'))"]),
        "azcollection": _azcollection_version(),
        "neo4j": os.environ.get("NEO4J_VERSION", "n/a"),
    }


def _azcollection_version() -> str:
    manifest = REPO / ".venv" / "lib" / "python3.11" / "site-packages" / "ansible_collections" / "azure" / \
        "azcollection" / "MANIFEST.json"
    try:
        return json.loads(manifest.read_text())["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return "n/a"


# ---------------------------------------------------------------------------------------------------------------
# A private ARM test double (its own port, CA, secret and state: resets never disturb other users)
# ---------------------------------------------------------------------------------------------------------------

class PrivateArm:
    def __init__(self, workdir: Path, kubeconfig: str):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.ca, cert, key = _write_certificates(workdir)
        self.port = free_port()
        self.endpoint = f"https://127.0.0.1:{self.port}"
        self.secret = "bench-" + secrets.token_urlsafe(18)
        config = {"port": self.port, "endpoint": self.endpoint, "cert_file": str(cert), "key_file": str(key),
                  "subscription_id": SUBSCRIPTION_ID, "tenant_id": TENANT_ID, "client_id": CLIENT_ID,
                  "client_secret": self.secret, "federated_token": "federated-" + secrets.token_urlsafe(18),
                  "kubeconfig": kubeconfig, "retry_after": 1}
        cfg = workdir / "config.json"
        cfg.write_text(json.dumps(config))
        os.chmod(cfg, 0o600)
        log_file = workdir / "arm.log"
        self.pid = spawn([sys.executable, ARM_SERVER, "--config", cfg], log_file)
        wait_until(lambda: port_open(self.port), 30, "bench: private ARM double", log_file, self.pid)
        self.client = ArmDoubleClient(self.env())

    def env(self) -> dict:
        """The TESTENV_* variables inventories/local reads, pointing at this double."""
        return {"TESTENV_ARM_ENDPOINT": self.endpoint, "TESTENV_ARM_CA_BUNDLE": str(self.ca),
                "TESTENV_AZURE_AUTHORITY": self.endpoint, "TESTENV_AZURE_TENANT_ID": TENANT_ID,
                "TESTENV_AZURE_CLIENT_ID": CLIENT_ID, "TESTENV_AZURE_CLIENT_SECRET": self.secret,
                "TESTENV_AZURE_SUBSCRIPTION_ID": SUBSCRIPTION_ID}

    def auth(self) -> dict:
        return module_defaults(self.env())

    def _call(self, method: str, path: str, body=None):
        return self.client.call(method, path, body)

    def reset(self) -> None:
        self._call("POST", "/_testenv/reset", {"state": True})

    def set_timing(self, profile: str) -> dict:
        """Switch the double's LRO timing profile (a reset turns it back to instant)."""
        if profile == "instant":
            return self._call("DELETE", "/_testenv/timing")
        return self._call("POST", "/_testenv/timing", {"profile": profile, "time_scale": AZURE_LIKE_TIME_SCALE})

    def last(self) -> int:
        return self._call("GET", "/_testenv/counters")["last"]

    def requests(self, since: int) -> list:
        return [e for e in self._call("GET", f"/_testenv/requests?since={since}")["requests"]
                if e["operation"] != "TestEnv"]

    def stop(self) -> None:
        kill_group(self.pid)


def classify_arm(entries: list, exclude_ops: tuple = ()) -> dict:
    """Counts by kind. writes = PUT/PATCH/DELETE and POST actions that change state; what-if, validate and the
    read-only list* actions (AKS credentials) are POSTs counted on their own."""
    out = {"arm_total": 0, "reads": 0, "writes": 0, "what_if": 0, "validate": 0, "post_read_actions": 0,
           "token": 0, "metadata": 0, "put": 0, "delete": 0, "polls": 0}
    for e in entries:
        op, method = e["operation"], e["method"]
        if any(op.startswith(x) for x in exclude_ops):
            continue
        if op.startswith("Entra_"):
            out["token"] += 1
            continue
        if op == "Metadata_Endpoints":
            out["metadata"] += 1
            continue
        out["arm_total"] += 1
        if method in ("GET", "HEAD"):
            out["reads"] += 1
            out["polls"] += op == "Operations_Poll"
        elif method == "POST" and op.startswith("Deployments_WhatIf"):
            out["what_if"] += 1
        elif method == "POST" and op.startswith("Deployments_Validate"):
            out["validate"] += 1
        elif method == "POST" and re.search(r"_List", op):
            out["post_read_actions"] += 1
        else:
            out["writes"] += 1
            out["put"] += method == "PUT"
            out["delete"] += method == "DELETE"
    out["all_requests"] = out["arm_total"] + out["token"] + out["metadata"]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Section 1: Azure
# ---------------------------------------------------------------------------------------------------------------

def section_azure(env: dict, runs: int, tmp: Path, profile: str = "instant") -> dict:
    if not (AZCOLLECTION_VENV / "bin" / "python").exists():
        subprocess.run(["bash", str(BENCH / "setup.sh")], check=True)
    arm = PrivateArm(tmp / f"arm-{profile}", env.get("KUBECONFIG", ""))
    timing = {"profile": "instant"}
    params_file = tmp / "infra-params.json"
    common_env = {**env, **arm.env()}
    variants = {
        "infra role": (PLAYBOOKS / "azure_role.yml", "Deploy the resource group and the infrastructure template"),
        "bicep_deployment": (PLAYBOOKS / "azure_ours.yml", "Deploy with bicep_deployment"),
        "azure_rm_deployment": (PLAYBOOKS / "azure_azrm.yml", "Deploy with azure_rm_deployment"),
    }
    samples = {(v, phase): [] for v in variants for phase in ("first", "no-op")}
    try:
        for rep in range(runs):
            arm.reset()  # private double: a clean Resource Manager for every repetition
            timing = arm.set_timing(profile)
            for variant, (path, task_name) in variants.items():
                rg = f"bench-{re.sub('[^a-z]', '', variant)[:12]}-{rep}"
                extra = {"bench_resource_group": rg, "infra_resource_group": rg,
                         "infra_template_file": str(REPO / "roles/infra/files/arm/main.json"),
                         "infra_kubeconfig_path": str(tmp / f"kubeconfig-{rg}"),
                         "bench_params_file": str(params_file), "bench_azure_auth": arm.auth(),
                         "bench_azcollection_python": str(AZCOLLECTION_VENV / "bin" / "python"),
                         "bench_azshim_dir": str(BENCH / "azshim")}
                if variant != "infra role":
                    extra.pop("infra_resource_group")
                for phase in ("first", "no-op"):
                    if variant == "infra role" and phase == "no-op":
                        extra["bench_params_file"] = ""
                    since = arm.last()
                    run = require_ok(playbook(path, common_env, extra, tmp=tmp), f"azure {variant} {phase}")
                    entries = arm.requests(since)
                    task = run.task(task_name)
                    sample = {"wall_s": run.wall, "task_s": task["seconds"], "changed": task["changed"]}
                    if variant == "infra role":
                        role_tasks = [t for t in run.tasks() if "/roles/infra/" in t["path"]]
                        sample["task_s"] = sum(t["seconds"] for t in role_tasks)
                        sample["changed"] = any(t["changed"] for t in role_tasks)
                        sample.update(classify_arm(entries))
                        sample["deploy_task_s"] = task["seconds"]
                        sample["deploy_changed"] = task["changed"]
                    else:
                        sample.update(classify_arm(entries))
                    if phase == "no-op" and task["changed"]:
                        what_if = (task["result"].get("what_if") or {}).get("changes") or []
                        sample["noop_changes"] = "; ".join(
                            f"{c.get('change_type')} {c.get('resource_id', '').rsplit('/providers/', 1)[-1]} "
                            f"{c.get('changed_paths')}" for c in what_if if c.get("change_type") != "NoChange")[:800]
                        log(f"azure {variant} no-op changed: {sample['noop_changes'] or task['result'].get('msg')}")
                    samples[(variant, phase)].append(sample)
                    log(f"azure[{profile}] {variant} {phase} #{rep + 1}: {sample['arm_total']} ARM requests, "
                        f"{sample['writes']} writes, {sample['what_if']} what-if, changed={sample['changed']}, "
                        f"{run.wall:.1f}s")
    finally:
        arm.stop()
    result = {f"{v} / {p}": summarize(s) for (v, p), s in samples.items()}
    ours = result["bicep_deployment / no-op"]["arm_total"]["median"]
    theirs = result["azure_rm_deployment / no-op"]["arm_total"]["median"]
    ours_all = result["bicep_deployment / no-op"]["all_requests"]["median"]
    theirs_all = result["azure_rm_deployment / no-op"]["all_requests"]["median"]
    writes_ours = result["bicep_deployment / no-op"]["writes"]["median"]
    writes_theirs = result["azure_rm_deployment / no-op"]["writes"]["median"]
    result["_target"] = {
        "noop_writes_ours": result["bicep_deployment / no-op"]["writes"]["median"],
        "noop_writes_role": result["infra role / no-op"]["writes"]["median"],
        "ratio_arm": theirs / ours if ours else None,
        "ratio_all": theirs_all / ours_all if ours_all else None,
        "ratio_writes": writes_theirs / writes_ours if writes_ours else None,
        "writes_theirs": writes_theirs,
    }
    result["_timing"] = {k: v for k, v in timing.items() if k != "durations"} if timing else {"profile": "instant"}
    return result


# ---------------------------------------------------------------------------------------------------------------
# Section 2: Kubernetes
# ---------------------------------------------------------------------------------------------------------------

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


def helm_shim(workdir: Path, real_helm: str) -> tuple:
    log_file = workdir / "helm-calls.log"
    shim = workdir / "helm"
    shim.write_text("#!/bin/sh\n# bench: counts helm invocations, then runs the real helm\n"
                    f"printf '%s\\n' \"$*\" >> '{log_file}'\n"
                    f"exec '{real_helm}' \"$@\"\n")
    os.chmod(shim, 0o755)
    log_file.touch()
    return shim, log_file


def helm_revisions(env: dict, kubeconfig: str, release: str, namespace: str) -> int:
    proc = subprocess.run([env.get("HELM_BIN", "helm"), "history", release, "-n", namespace, "-o", "json",
                           "--kubeconfig", kubeconfig], capture_output=True, text=True, check=False,
                          env={**os.environ, **env})
    return len(json.loads(proc.stdout)) if proc.returncode == 0 else 0


def kube_cleanup(env: dict, namespaces: list) -> None:
    kubectl = env.get("KUBECTL_BIN", "kubectl")
    kenv = {**os.environ, **env}
    for ns in namespaces:
        subprocess.run([env.get("HELM_BIN", "helm"), "uninstall", "neo4j", "-n", ns, "--wait", "--timeout", "2m"],
                       capture_output=True, env=kenv, check=False)
        subprocess.run([kubectl, "delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s"],
                       capture_output=True, env=kenv, check=False)
    # Retained volumes of the deleted claims (StorageClass reclaimPolicy Retain) would pile up.
    proc = subprocess.run([kubectl, "get", "pv", "-o", "json"], capture_output=True, text=True, env=kenv,
                          check=False)
    if proc.returncode == 0:
        for pv in json.loads(proc.stdout).get("items", []):
            claim = (pv.get("spec", {}).get("claimRef") or {}).get("namespace", "")
            if claim in namespaces:
                subprocess.run([kubectl, "delete", "pv", pv["metadata"]["name"], "--wait=false"],
                               capture_output=True, env=kenv, check=False)


def section_kube(env: dict, runs: int, tmp: Path) -> dict:
    proxy = KubeProxy(tmp, env)
    shim, calls = helm_shim(tmp, env.get("HELM_BIN", "helm"))
    values_file = tmp / "neo4j-values.json"
    samples = {(v, p): [] for v in ("neo4j role", "kubernetes.core.helm") for p in ("first", "no-op")}
    suffix = secrets.token_hex(2)
    try:
        for rep in range(runs):
            namespaces = []
            for variant in ("neo4j role", "kubernetes.core.helm"):
                ns = f"bench-{'role' if variant == 'neo4j role' else 'helm'}-{suffix}-{rep}"
                namespaces.append(ns)
                if variant == "neo4j role":
                    path, task_name = PLAYBOOKS / "kube_role.yml", "Install or upgrade the Helm release"
                    extra = {"neo4j_namespace": ns, "neo4j_kubeconfig": str(proxy.kubeconfig),
                             "neo4j_helm_binary": str(shim), "bench_values_file": str(values_file)}
                else:
                    path, task_name = PLAYBOOKS / "kube_helm.yml", "Install or upgrade the release"
                    extra = {"bench_namespace": ns, "bench_release": "neo4j", "bench_kubeconfig": str(proxy.kubeconfig),
                             "bench_helm_binary": str(shim), "bench_values_file": str(values_file),
                             "bench_chart": str(REPO / "roles/neo4j/files/chart")}
                for phase in ("first", "no-op"):
                    if phase == "no-op" and variant == "neo4j role":
                        extra.pop("bench_values_file", None)
                    helm_before = len(calls.read_text().splitlines())
                    mark = proxy.mark()
                    run = require_ok(playbook(path, env, extra, tmp=tmp), f"kube {variant} {phase}")
                    time.sleep(0.2)  # let the proxy flush its last log line
                    helm_lines = calls.read_text().splitlines()[helm_before:]
                    if variant == "neo4j role":
                        tasks = [t for t in run.tasks() if "/roles/neo4j/" in t["path"]]
                    else:
                        tasks = [run.task(task_name)]
                    sample = {"wall_s": run.wall, "task_s": sum(t["seconds"] for t in tasks),
                              "changed": any(t["changed"] for t in tasks),
                              "helm_calls": len(helm_lines),
                              "helm_mutating": sum(1 for line in helm_lines
                                                   if line.split(" ")[0] in ("upgrade", "install", "rollback",
                                                                             "uninstall")),
                              "revisions": helm_revisions(env, str(proxy.kubeconfig), "neo4j", ns)}
                    sample.update(proxy.count(mark))
                    sample["helm_subcommands"] = " ".join(sorted({line.split(" ")[0] for line in helm_lines}))
                    samples[(variant, phase)].append(sample)
                    log(f"kube {variant} {phase} #{rep + 1}: {sample['helm_calls']} helm calls, "
                        f"{sample['api_total']} API requests ({sample['api_writes']} writes), "
                        f"revisions={sample['revisions']}, changed={sample['changed']}, {run.wall:.1f}s")
            kube_cleanup(env, namespaces)
    finally:
        proxy.stop()
    result = {f"{v} / {p}": summarize(s) for (v, p), s in samples.items()}
    for key, stats in result.items():
        if key.endswith("/ no-op"):
            prev = result[key.replace("no-op", "first")]
            stats["revisions_created"] = {
                k: stats["revisions"][k] - prev["revisions"][k] if k in ("median", "min", "max") else
                stats["revisions"][k] for k in stats["revisions"]}
        else:
            stats["revisions_created"] = stats["revisions"]
    return result


# ---------------------------------------------------------------------------------------------------------------
# Section 3: health
# ---------------------------------------------------------------------------------------------------------------

def bare_return_one(uri: str, password: str) -> float:
    import neo4j  # pylint: disable=import-outside-toplevel
    started = time.perf_counter()
    with neo4j.GraphDatabase.driver(uri, auth=("neo4j", password), connection_timeout=5) as driver:
        driver.execute_query("RETURN 1")
    return time.perf_counter() - started


def bare_return_one_process(uri: str, password: str) -> float:
    """The same in a fresh interpreter: Python start-up and the driver import included, as in a module run."""
    code = ("import os, neo4j\n"
            "with neo4j.GraphDatabase.driver(os.environ['B_URI'], auth=('neo4j', os.environ['B_PW'])) as d:\n"
            "    d.execute_query('RETURN 1')\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "B_URI": uri, "B_PW": password})
    return time.perf_counter() - started


def section_health(env: dict, runs: int, tmp: Path, quick: bool) -> dict:
    result = {}
    # One check on the shared server (read-only): the module's task time vs a bare driver RETURN 1.
    samples = []
    for rep in range(runs):
        run = require_ok(playbook(PLAYBOOKS / "health.yml", env, {
            "bench_neo4j_uri": env["NEO4J_URI"], "bench_neo4j_password": env["NEO4J_PASSWORD"],
            "bench_wait": False}, tmp=tmp), "health once")
        health = run.task("Check Neo4j with neo4j_health")
        samples.append({"module_task_s": health["seconds"], "noop_module_task_s": run.task("ping")["seconds"],
                        "bare_driver_s": bare_return_one(env["NEO4J_URI"], env["NEO4J_PASSWORD"]),
                        "bare_process_s": bare_return_one_process(env["NEO4J_URI"], env["NEO4J_PASSWORD"]),
                        "reported_latency_ms": (health["result"].get("latency_ms") or {}).get("median"),
                        "playbook_wall_s": run.wall})
        samples[-1]["overhead_s"] = samples[-1]["module_task_s"] - samples[-1]["bare_driver_s"]
        log(f"health once #{rep + 1}: module {health['seconds']:.2f}s, bare {samples[-1]['bare_driver_s']:.3f}s")
    result["one check"] = summarize(samples)
    if quick:
        return result
    # Detection delay on a private server: the module waits (default backoff) while the server starts.
    from components.neo4j_server import Neo4jInstance  # pylint: disable=import-outside-toplevel
    inst = Neo4jInstance.create(tmp / "neo4j")
    samples = []
    try:
        for rep in range(runs):
            inst.stop()
            proc_env = ansible_env(env, {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                         "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
            vars_file = tmp / "health-vars.json"
            vars_file.write_text(json.dumps({"bench_neo4j_uri": inst.uri, "bench_neo4j_password": inst.password,
                                             "bench_wait": True}))
            os.chmod(vars_file, 0o600)
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [str(REPO / ".venv/bin/ansible-playbook"), str(PLAYBOOKS / "health.yml"), "-i", "localhost,",
                 "-e", f"@{vars_file}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=proc_env,
                cwd=REPO)
            time.sleep(3)  # the module is probing an unreachable server by now
            inst.start()  # returns once a RETURN 1 succeeds on the default database (polled every 0.25 s)
            reachable = time.time()
            out, err = proc.communicate(timeout=400)
            data = json.loads(out[out.index("{"):]) if "{" in out else {}
            run = Run(proc.returncode, 0.0, data, err, out)
            require_ok(run, "health wait")
            task = run.task("Check Neo4j with neo4j_health")
            samples.append({"detection_delay_s": task["end"] - reachable,
                            "server_start_to_ready_s": reachable - (task["end"] - task["seconds"]),
                            "probes": task["result"].get("attempts")})
            log(f"health detection #{rep + 1}: {samples[-1]['detection_delay_s']:.2f}s")
    finally:
        inst.stop()
    result["detection"] = summarize(samples)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Section 4: site.yml
# ---------------------------------------------------------------------------------------------------------------

def role_of(task: dict) -> str:
    found = re.search(r"/roles/([^/]+)/", task["path"])
    return found.group(1) if found else "(playbook)"


def section_site(env: dict, runs: int, tmp: Path) -> dict:
    arm = PrivateArm(tmp / "arm-site", env.get("KUBECONFIG", ""))
    samples = {"first": [], "no-op": []}
    shares = {"first": [], "no-op": []}
    outcome = {"first": [], "no-op": []}
    suffix = secrets.token_hex(2)
    try:
        for rep in range(runs):
            arm.reset()
            ns = f"bench-site-{suffix}-{rep}"
            extra = {"neo4j_namespace": ns, "validate_namespace": ns, "backup_namespace": ns,
                     "infra_backup_namespace": ns, "infra_kubeconfig_path": str(tmp / f"site-{rep}.kubeconfig"),
                     "infra_template_file": str(REPO / "roles/infra/files/arm/main.json")}
            for phase in ("first", "no-op"):
                run = playbook(REPO / "playbooks/site.yml", {**env, **arm.env()}, extra,
                               inventory=str(REPO / "inventories/local"), tmp=tmp)
                tasks = run.tasks()
                by_role: dict = {}
                for t in tasks:
                    by_role[role_of(t)] = by_role.get(role_of(t), 0.0) + t["seconds"]
                total = sum(by_role.values()) or 1.0
                failed = [t for t in tasks if t["failed"] and not t["result"].get("ignore_errors")]
                samples[phase].append({"wall_s": run.wall, "tasks_s": total, "changed_tasks": run.changed(),
                                       "rc": run.rc, **{f"role_s:{k}": v for k, v in by_role.items()}})
                shares[phase].append({k: v / total for k, v in by_role.items()})
                outcome[phase].append({"rc": run.rc, "failed_task": failed[0]["name"] if failed else None,
                                       "message": run.failure()[:400] if run.rc else ""})
                log(f"site {phase} #{rep + 1}: rc={run.rc} {run.wall:.1f}s changed={run.changed()} "
                    f"{'failed at ' + failed[0]['name'] if failed else ''}")
            kube_cleanup(env, [ns])
    finally:
        arm.stop()
    return {p: {"stats": summarize(samples[p]), "share": summarize(shares[p]), "outcome": outcome[p]}
            for p in samples}


# ---------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------

AZURE_PROFILES_NOTE = (
    "Measured twice on the same private ARM double, which differ only in how long a long-running operation (LRO) "
    "stays Running. **instant**: the double's default, every deployment and what-if ends at its first poll. "
    "**azure-like**: the double keeps a deployment Running for the longest dependsOn chain of the resources it "
    "applies, with per-type durations of an *unchanged* re-PUT (managedClusters 240 s, Key Vault and storage 20 s, "
    "workspace 15 s, VNet 10 s, NSG, identities, role assignments, DCRs 5 s: **estimates**, see "
    "tests/testenv/arm_double/README.md; for this template: NSG 5 + VNet 10 + subnet role assignment 5 + AKS 240 + "
    "role assignment / federated credential / DCR association 5 = 265 s), a what-if Running for 15 s, and "
    "`Retry-After: 15` on every LRO response, all times the time scale. The clients' polls are real: the SDKs "
    "(azure-core's polling, both modules) poll once at once, then sleep Retry-After between polls, so polls = "
    "1 + ceil(duration / Retry-After) (what-if 2, this deployment 19) at any scale where the scaled Retry-After is a "
    "whole number of seconds (here 1 s). Request counts are measured; "
    "the durations behind them are modelled, so the azure-like ratio holds only as far as those durations do. "
    "Times (task, wall) under azure-like are scaled, not Azure's; the first-run rows use the same re-PUT "
    "durations (a real first deployment of AKS takes longer).")


def azure_table(az: dict, meta: dict, modelled: bool = False) -> list:
    lines = ["| module / run | ARM requests | reads (GET) | of which LRO polls | writes (PUT/DELETE/POST) | what-if | "
             "validate | list* POST | token + metadata | task time s | playbook wall s | changed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, st in az.items():
        if key.startswith("_"):
            continue
        tok = {k: st["token"][k] + st["metadata"][k] for k in ("median", "min", "max")}
        lines.append(f"| {key} | {fmt(st['arm_total'])} | {fmt(st['reads'])} | {fmt(st['polls'])} | "
                     f"{fmt(st['writes'])} | {fmt(st['what_if'])} | {fmt(st['validate'])} | "
                     f"{fmt(st['post_read_actions'])} | {fmt(tok)} | {fmt(st['task_s'], digits=2)} | "
                     f"{fmt(st['wall_s'], digits=2)} | {fmt(st['changed'])} |")
    tgt = az["_target"]
    ok_writes = tgt["noop_writes_ours"] == 0
    ok_ratio = (tgt["ratio_arm"] or 0) >= 5
    writes = tgt.get("writes_theirs", az["azure_rm_deployment / no-op"]["writes"]["median"])
    lines += ["", f"Target (no-op re-run): bicep_deployment writes = {tgt['noop_writes_ours']:g} vs "
                  f"azure_rm_deployment {writes:g} ({'met' if ok_writes else 'MISSED'}: writes ratio "
                  f"{'n/a, ours is 0' if ok_writes else format(tgt.get('ratio_writes') or 0, '.2f') + 'x'}); "
                  f"azure_rm_deployment / bicep_deployment ARM requests = {tgt['ratio_arm']:.2f}x "
                  f"({'met' if ok_ratio else 'MISSED: target >= 5x'}"
                  f"{', with modelled LRO durations' if modelled else ''}); counting token and metadata "
                  f"requests too: {tgt['ratio_all']:.2f}x."]
    rm = az["azure_rm_deployment / no-op"]
    if not modelled and not ok_ratio:
        lines += ["", f"Why the ratio is missed under this profile: azure_rm_deployment does not compare anything "
                      f"before writing, so its no-op re-run is GET resource group, PUT resource group, PUT "
                      f"deployment, then {fmt(rm['polls'])} poll(s) and a GET: {fmt(rm['arm_total'])} requests, "
                      f"{fmt(rm['writes'])} of them writes, and `changed` every time. The double completes a "
                      f"deployment at its first poll; on Azure the PUT re-applies every resource of the template and "
                      f"is polled until done. bicep_deployment's no-op is POST what-if, one poll, GET deployment "
                      f"(for its outputs; the resource group is read only when what-if says it is missing): fewer "
                      f"requests, no write."]
    if modelled:
        ours = az["bicep_deployment / no-op"]
        lines += ["", f"No-op re-run under this profile: azure_rm_deployment polls its deployment {fmt(rm['polls'])} "
                      f"times ({fmt(rm['arm_total'])} ARM requests, {fmt(rm['writes'])} writes); bicep_deployment "
                      f"polls its what-if {fmt(ours['polls'])} time(s) ({fmt(ours['arm_total'])} requests, "
                      f"{fmt(ours['writes'])} writes). The ratio follows the assumed durations: every further "
                      f"Retry-After interval (15 s modelled) of deployment time adds one poll to azure_rm_deployment's "
                      f"no-op and none to ours, so with these request shapes 5x needs azure_rm_deployment at >= 5 x "
                      f"{fmt(ours['arm_total'])} requests, i.e. an unchanged re-PUT longer than about 300 s with "
                      f"Retry-After 15 s; a shorter Retry-After raises the ratio, no Retry-After at all (azure-mgmt "
                      f"then polls every 30 s) lowers it. Poll counts can be one lower than on the unscaled clock "
                      f"when request latency adds up across polls (each poll lands latency later)."]
    lines.append("")
    return lines


def azure_summary(results: dict) -> list:
    lines = ["### 1c. No-op re-run, both profiles", "",
             "| profile | bicep_deployment requests | azure_rm_deployment requests | requests ratio | "
             "bicep_deployment writes | azure_rm_deployment writes | writes ratio | polls (ours / theirs) |",
             "|---|---|---|---|---|---|---|---|"]
    for profile, key in AZURE_KEYS.items():
        az = results[key]
        ours, theirs, tgt = az["bicep_deployment / no-op"], az["azure_rm_deployment / no-op"], az["_target"]
        wr = "inf (ours 0)" if not ours["writes"]["median"] else f"{tgt['ratio_writes']:.2f}x"
        lines.append(f"| {profile} | {fmt(ours['arm_total'])} | {fmt(theirs['arm_total'])} | {tgt['ratio_arm']:.2f}x | "
                     f"{fmt(ours['writes'])} | {fmt(theirs['writes'])} | {wr} | {fmt(ours['polls'])} / "
                     f"{fmt(theirs['polls'])} |")
    lines.append("")
    return lines


def report(results: dict, meta: dict) -> str:
    lines = [f"# Benchmark {meta['date']}", "",
             f"`bench/run.py --runs {meta['runs']}{' --quick' if meta['quick'] else ''}` on the local test "
             f"environment. Each cell: median (min–max) of {meta['runs']} run(s). Sections: "
             f"{', '.join(meta['sections'])}.", ""]
    for note in meta.get("notes", []):  # e.g. a section re-measured later and merged into the results file
        lines += [note, ""]
    lines += ["## Machine", ""]
    m = meta["machine"]
    lines += [f"- {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, {m['os']}, shared with other "
              "jobs while measuring",
              f"- Python {m['python']}, {' '.join(m['ansible_core'])}, azure.azcollection {m['azcollection']} "
              f"(azure-mgmt-resource {m['azure_mgmt_resource']}), helm {m['helm']}, Neo4j {m['neo4j']}", ""]
    if "azure" in results:
        lines += ["## 1. Azure: infra template (roles/infra/files/arm/main.json, inventories/local parameters)", ""]
        if "azure_like" in results:
            lines += [AZURE_PROFILES_NOTE, "", "### 1a. ARM double timing profile \"instant\" (every long-running "
                      "operation ends at its first poll)", ""]
        lines += azure_table(results["azure"], meta)
        if "azure_like" in results:
            t = results["azure_like"].get("_timing", {})
            lines += ["### 1b. ARM double timing profile \"azure-like\" (modelled LRO durations, time scale "
                      f"{t.get('time_scale', 0):.4g}, Retry-After {t.get('retry_after', 0):g} s scaled to "
                      f"{t.get('retry_after_sent', 0)} s; "
                      f"{results['azure_like']['bicep_deployment / no-op']['arm_total']['n']} run(s))", ""]
            lines += azure_table(results["azure_like"], meta, modelled=True)
            lines += azure_summary(results)
    if "kube" in results:
        lines += ["## 2. Kubernetes: neo4j role vs one kubernetes.core.helm task (same chart and values)", "",
                  "| run | helm calls | helm upgrade/install | API requests | GET | LIST | WATCH | writes | "
                  "revisions created | task time s | playbook wall s | changed |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for key, st in results["kube"].items():
            lines.append(f"| {key} | {fmt(st['helm_calls'])} | {fmt(st['helm_mutating'])} | {fmt(st['api_total'])} | "
                         f"{fmt(st['api_get'])} | {fmt(st['api_list'])} | {fmt(st['api_watch'])} | "
                         f"{fmt(st['api_writes'])} | {fmt(st['revisions_created'])} | {fmt(st['task_s'], digits=2)} | "
                         f"{fmt(st['wall_s'], digits=2)} | {fmt(st['changed'])} |")
        lines += ["", "API write requests (first repetition): " + "; ".join(
            f"{k}: {fmt(v.get('api_write_requests')) or 'none'}" for k, v in results["kube"].items())]
        lines += ["", "helm subcommands seen: " + "; ".join(
            f"{k}: {fmt(v['helm_subcommands'])}" for k, v in results["kube"].items()), ""]
    if "health" in results:
        h = results["health"]
        one = h["one check"]
        lines += ["## 3. Health", "", "| figure | seconds |", "|---|---|",
                  f"| neo4j_health task (one check, shared server) | {fmt(one['module_task_s'], digits=3)} |",
                  f"| bare driver: connect + RETURN 1 + close (in-process) | {fmt(one['bare_driver_s'], digits=3)} |",
                  f"| bare driver in a fresh `python -c` (start-up + import + the same) | "
                  f"{fmt(one['bare_process_s'], digits=3)} |",
                  f"| overhead of one check (task - bare driver) | {fmt(one['overhead_s'], digits=3)} |",
                  f"| any module run here (ansible.builtin.ping task) | {fmt(one['noop_module_task_s'], digits=3)} |"]
        if "detection" in h:
            d = h["detection"]
            lines += [f"| detection delay: server answers RETURN 1 -> neo4j_health (wait, default backoff "
                      f"1 s doubling to 15 s) succeeds | {fmt(d['detection_delay_s'], digits=2)} |",
                      f"| (task start to server ready: how long the module had been waiting) | "
                      f"{fmt(d['server_start_to_ready_s'], digits=2)} |"]
        lines.append("")
    if "site" in results:
        lines += ["## 4. playbooks/site.yml on inventories/local", "",
                  "| run | exit code | playbook wall s | sum of task times s | changed | share of task time per role |",
                  "|---|---|---|---|---|---|"]
        for phase, res in results["site"].items():
            st, share = res["stats"], res["share"]
            shares = ", ".join(f"{k} {share[k]['median'] * 100:.0f}%" for k in
                               sorted(share, key=lambda k: -share[k]["median"]))
            lines.append(f"| {phase} | {fmt(st['rc'])} | {fmt(st['wall_s'], digits=1)} | "
                         f"{fmt(st['tasks_s'], digits=1)} | {fmt(st['changed_tasks'])} | {shares} |")
        fails = {(o["failed_task"], o["message"][:200]) for res in results["site"].values()
                 for o in res["outcome"] if o["rc"]}
        if fails:
            lines += ["", "site.yml did not complete: " + "; ".join(f"`{t}`: {m}" for t, m in fails)]
        lines.append("")
    lines += ["## How it was measured", "", METHOD_NOTES, ""]
    return "\n".join(lines)


METHOD_NOTES = """\
- Azure: a private ARM test double (own port and state, reset before each repetition), reached by
  bicep_deployment through `endpoint_override` and by azure_rm_deployment through `cloud_environment` =
  the double's Resource Manager URL (its `/metadata/endpoints` document; `bench/azshim` supplies the
  `get_cloud_from_metadata_endpoint` function azure-cli-core no longer has) with the CA in REQUESTS_CA_BUNDLE.
  Requests are read from the double's request log. "writes" = PUT/PATCH/DELETE and state-changing POSTs;
  what-if, validate and the read-only `list*Credential` POSTs (aks_kubeconfig, infra role only) have their
  own columns. "infra role" rows are the whole role (bicep_deployment + aks_kubeconfig); its parameters are
  the ones both single-module rows deploy. "task time" is the task's duration from the json callback;
  "playbook wall" includes ansible-playbook start-up.
- Kubernetes: all clients use a kubeconfig pointing at `kubectl proxy -v=6`, whose log has one line per
  request sent to the apiserver (APF metrics are off in this kube-apiserver and `apiserver_request_total`
  mixes in the controllers and other users); helm is a shim that logs each invocation, then runs the real helm.
  Role and plain-helm releases go to fresh namespaces per repetition (deleted afterwards).
- Health: "one check" runs neo4j_health (no write probe) on the shared server; detection delay uses a
  private server: the module starts waiting, then the server is started; "reachable" is when the server first
  answers RETURN 1 (polled every 0.25 s) and the delay ends at the end of the module's task.
- site.yml: inventories/local against a private ARM double (fresh per repetition) and a fresh namespace per
  repetition; role share = sum of the role's task durations / sum of all task durations (json callback).
- No timing is asserted anywhere; the smoke test (tests/harness/test_bench_smoke.py) only checks that
  `--runs 1 --quick` produces a table."""


def chart(results: dict, path: Path, meta: dict) -> None:
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    panels = [k for k in ("azure", "azure_like", "kube", "health", "site") if k in results]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, name in zip(axes[0], panels):
        if name in ("azure", "azure_like"):
            az = results[name]
            labels = ["infra role", "bicep_deployment", "azure_rm_deployment"]
            _bars(ax, labels, [[az[f"{v} / {p}"]["all_requests"] for v in labels] for p in ("first", "no-op")],
                  ["first run", "no-op re-run"], "requests to the ARM double (incl. token)")
            ax.set_title("Azure: requests per run" + (" (LRO timing: azure-like, modelled)" if name == "azure_like"
                                                      else " (LRO timing: instant)" if "azure_like" in results
                                                      else ""), fontsize=9)
        elif name == "kube":
            kb = results["kube"]
            labels = ["neo4j role", "kubernetes.core.helm"]
            _bars(ax, labels, [[kb[f"{v} / {p}"]["task_s"] for v in labels] for p in ("first", "no-op")],
                  ["first run", "no-op re-run"], "task time (s)")
            ax.set_title("Kubernetes: time per run")
        elif name == "health":
            one = results["health"]["one check"]
            labels = ["neo4j_health", "ping module", "bare driver"]
            stats = [one["module_task_s"], one["noop_module_task_s"], one["bare_driver_s"]]
            if "detection" in results["health"]:
                labels.append("detection delay")
                stats.append(results["health"]["detection"]["detection_delay_s"])
            _bars(ax, labels, [stats], ["seconds"], "seconds")
            ax.set_title("Health check")
        elif name == "site":
            st = results["site"]
            labels = ["first", "no-op"]
            _bars(ax, labels, [[st[p]["stats"]["wall_s"] for p in labels]], ["wall"], "seconds")
            ax.set_title("site.yml on inventories/local")
    fig.suptitle(f"neo4j_azure.aks bench {meta['date']} (median, whiskers min-max, {meta['runs']} runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax, labels, series, names, ylabel):
    width = 0.8 / len(series)
    for i, (values, name) in enumerate(zip(series, names)):
        xs = [j + i * width for j in range(len(labels))]
        med = [v["median"] for v in values]
        err = [[v["median"] - v["min"] for v in values], [v["max"] - v["median"] for v in values]]
        bars = ax.bar(xs, med, width, yerr=err, capsize=3, label=name)
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(labels))])
    ax.set_xticklabels(labels, rotation=15, fontsize=8)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(fontsize=8)


def _errors(meta: dict) -> str:
    if not meta.get("errors"):
        return ""
    return "\n## Sections that failed\n\n" + "\n".join(
        f"- {k}: {v.splitlines()[0][:500] if v else ''}" for k, v in meta["errors"].items()) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="repetitions per figure (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help=f"only {', '.join(QUICK_SECTIONS)} (health: one check, no detection delay; azure-like "
                             "timing: 1 run): about 3 minutes")
    parser.add_argument("--sections", default="", help=f"comma-separated subset of {', '.join(ALL_SECTIONS)}")
    parser.add_argument("--out", default=str(BENCH / "results"), help="results directory (default bench/results)")
    parser.add_argument("--report-only", metavar="JSON", help="rewrite the .md and .png from a raw results file")
    args = parser.parse_args(argv)
    if args.report_only:
        raw = json.loads(Path(args.report_only).read_text())
        base = Path(args.report_only).with_suffix("")
        text = report(raw["results"], raw["meta"]) + _errors(raw["meta"])
        base.with_suffix(".md").write_text(text)
        chart(raw["results"], base.with_suffix(".png"), raw["meta"])
        print(text)
        return 0
    sections = [s for s in args.sections.split(",") if s] or list(QUICK_SECTIONS if args.quick else ALL_SECTIONS)
    unknown = set(sections) - set(ALL_SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    needs = {"azure": {"kube"}, "kube": {"kube"}, "health": {"neo4j"}, "site": set()}
    wanted = set().union(*(needs[s] for s in sections))
    env = {k: str(v) for k, v in bring_up(() if "site" in sections else tuple(sorted(wanted))).items()}
    os.environ.update({k: v for k, v in env.items() if k in ("HELM_BIN", "KUBECTL_BIN", "NEO4J_VERSION")})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    date = datetime.date.today().isoformat()
    meta = {"date": date, "runs": args.runs, "quick": args.quick, "sections": sections, "machine": machine(),
            "started": datetime.datetime.now().isoformat(timespec="seconds")}
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmpdir:
        tmp = Path(tmpdir)
        for section in sections:
            log(f"section {section} ({args.runs} run(s))")
            started = time.perf_counter()
            try:
                if section == "azure":
                    for profile in AZURE_PROFILES:
                        # azure-like LROs take seconds each (scaled minutes): one repetition is enough in --quick
                        runs = 1 if args.quick and profile != "instant" else args.runs
                        log(f"azure, ARM double timing profile {profile} ({runs} run(s))")
                        results[AZURE_KEYS[profile]] = section_azure(env, runs, tmp, profile)
                elif section == "kube":
                    results["kube"] = section_kube(env, args.runs, tmp)
                elif section == "health":
                    results["health"] = section_health(env, args.runs, tmp, args.quick)
                elif section == "site":
                    results["site"] = section_site(env, args.runs, tmp)
            except Exception as err:  # pylint: disable=broad-except  # report what ran, say what did not
                log(f"section {section} failed: {err}")
                meta.setdefault("errors", {})[section] = str(err)[:2000]
            meta.setdefault("section_seconds", {})[section] = round(time.perf_counter() - started, 1)
    meta["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    text = report(results, meta) + _errors(meta)
    (out / f"{date}.md").write_text(text)
    (out / f"{date}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    if results:
        chart(results, out / f"{date}.png", meta)
    print(text)
    log(f"wrote {out / (date + '.md')}, {out / (date + '.png')}, {out / (date + '.json')}")
    return 1 if meta.get("errors") and not results else 0


if __name__ == "__main__":
    sys.exit(main())
