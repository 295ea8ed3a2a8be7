"""The harness shared by the tests and the bench: bring the test environment up, run ansible-playbook against
it and read its results, kubectl/helm against the test cluster, and the ARM test double's client (the shared
double, or a private one of its own).

    env = bring_up(("kube", "neo4j"))
    result = run_playbook(localhost_play([...]), env=env)          # PlaybookResult
    result.task("Deploy").get("changed"); result.timed_task("Deploy").seconds; result.wall
    with private_arm_double(tmp_path / "arm", env["KUBECONFIG"]) as arm:   # own port, CA, secret and state
        arm.client.reset(state=True); run_playbook(..., env={**env, **arm.env})
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from testenv.arm_double.client import ArmDoubleClient, count_ops
from testenv.arm_double.client import module_defaults as arm_module_defaults
from testenv.components import arm as arm_component
from testenv.components.base import kill_group, port_open, wait_until

__all__ = ["ArmDoubleClient", "FILES", "NEO4J_STATEFULSET", "PlaybookResult", "PrivateArmDouble", "REPO",
           "RunningPlaybook", "TimedTask", "ansible_env", "bring_up", "count_ops", "delete_namespace", "helm",
           "kube_namespace", "kubectl", "localhost_play", "private_arm_double", "run_playbook", "start_playbook"]

REPO = Path(__file__).resolve().parents[1]
TESTENV = REPO / "tests" / "testenv" / "testenv.py"
FILES = REPO / "tests" / "files"  # data files the tests deploy (ARM templates, a smoke chart)
STATE_DIR = Path(os.environ.get("TESTENV_STATE_DIR", REPO / ".testenv"))
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
_LOCK = threading.Lock()
_UP: set = set()


def bring_up(components=()) -> dict:
    """Start the named components (all when empty) unless already running; return the env file's content."""
    wanted = tuple(components)
    with _LOCK:
        if wanted not in _UP:
            cmd = [sys.executable, str(TESTENV), "up"] + (["--only", ",".join(wanted)] if wanted else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"test environment failed to start ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
            _UP.add(wanted)
    return json.loads((STATE_DIR / "env.json").read_text())


# ---------------------------------------------------------------------------------------------------------------
# kubectl and helm against the test cluster
# ---------------------------------------------------------------------------------------------------------------

def _cluster_tool(binary: str, env: dict, args: tuple, input_text: str | None, check: bool, timeout: float,
                  tool_env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run([env[binary], *args], input=input_text, capture_output=True, text=True, check=False,
                          env=tool_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{Path(env[binary]).name} {' '.join(args)} failed: {proc.stderr}")
    return proc


def kubectl(env: dict, *args, input_text: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """kubectl against the test cluster; with check, a failure raises with kubectl's own message."""
    return _cluster_tool("KUBECTL_BIN", env, args, input_text, check, timeout,
                         {"KUBECONFIG": env["KUBECONFIG"], "PATH": env["PATH"]})


def helm(env: dict, *args, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """helm (with the test environment's plugins) against the test cluster; same contract as kubectl()."""
    return _cluster_tool("HELM_BIN", env, args, None, check, timeout, {**os.environ, **env})


def delete_namespace(env: dict, name: str, wait: bool = False) -> None:
    """Delete a namespace and the volumes its claims left behind (the role's StorageClass retains disks)."""
    kubectl(env, "delete", "namespace", name, "--ignore-not-found", f"--wait={str(wait).lower()}",
            check=False, timeout=180)
    pvs = kubectl(env, "get", "pv", "-o", "json", check=False)
    if pvs.returncode != 0:
        return
    for pv in json.loads(pvs.stdout).get("items", []):
        if (pv.get("spec", {}).get("claimRef") or {}).get("namespace") == name:
            kubectl(env, "delete", "pv", pv["metadata"]["name"], "--wait=false", check=False)


@contextlib.contextmanager
def kube_namespace(env: dict, prefix: str):
    """A fresh namespace `<prefix>-<6 hex>` for the block; deleted (with its retained volumes) afterwards."""
    name = f"{prefix}-{os.urandom(3).hex()}"
    kubectl(env, "create", "namespace", name)
    try:
        yield name
    finally:
        delete_namespace(env, name)


# A minimal Neo4j-like StatefulSet (format with ns=<namespace>) for roles that act on an existing release.
NEO4J_STATEFULSET = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: neo4j, namespace: %(ns)s}
spec:
  replicas: 1
  serviceName: neo4j
  selector: {matchLabels: {app: neo4j}}
  template:
    metadata: {labels: {app: neo4j}}
    spec:
      containers: [{name: neo4j, image: "neo4j:5.26-community"}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""


# ---------------------------------------------------------------------------------------------------------------
# The ARM test double
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class PrivateArmDouble:
    """An ARM test double started for one caller: `env` holds the TESTENV_* variables inventories/local and
    module_defaults() read, pointing at it."""

    env: dict
    client: ArmDoubleClient

    @property
    def auth(self) -> dict:
        """Options for `module_defaults: group/neo4j_azure.aks.azure`."""
        return arm_module_defaults(self.env)


@contextlib.contextmanager
def private_arm_double(workdir: Path, kubeconfig: str = ""):
    """A double of its own (port, CA, secret, state) for the block: resets and timing profiles disturb nobody."""
    instance = arm_component.launch(Path(workdir), kubeconfig)
    try:
        yield PrivateArmDouble(instance["env"], ArmDoubleClient(instance["env"]))
    finally:
        kill_group(instance["pid"])
        # The leader's exit is seen before the kernel has closed every socket of the group: the block ends when
        # the port no longer answers, so what follows never talks to a double that is going away.
        wait_until(lambda: not port_open(instance["port"]), 15,
                   "arm: the private ARM test double still answers after it was stopped")


# ---------------------------------------------------------------------------------------------------------------
# ansible-playbook
# ---------------------------------------------------------------------------------------------------------------

def _epoch(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@dataclass
class TimedTask:
    """One task on one host, with its duration from the json callback."""

    name: str
    path: str
    host: str
    seconds: float
    end: float | None  # epoch seconds
    result: dict

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed") or self.result.get("unreachable"))


class PlaybookResult:
    """The outcome of one ansible-playbook run, read from the ansible.posix.json callback; `wall` is the seconds
    from process start to exit."""

    def __init__(self, proc: subprocess.CompletedProcess, data: dict | None, wall: float = 0.0):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = data or {}
        self.wall = wall

    @property
    def stats(self) -> dict:
        return self.data.get("stats", {})

    def changed(self, host: str | None = "localhost") -> int:
        """Changed tasks of host (of every host with host=None)."""
        if host is None:
            return sum(s.get("changed", 0) for s in self.stats.values())
        return self.stats.get(host, {}).get("changed", 0)

    def timed_tasks(self, host: str | None = None) -> list[TimedTask]:
        """Every task result in run order (of one host, or all), with its duration."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                duration = task["task"].get("duration", {})
                end = _epoch(duration["end"]) if "end" in duration else None
                seconds = end - _epoch(duration["start"]) if end is not None else 0.0
                for task_host, res in task.get("hosts", {}).items():
                    if host is None or task_host == host:
                        out.append(TimedTask(task["task"]["name"], task["task"].get("path", ""), task_host,
                                             seconds, end, res))
        return out

    def tasks(self, host: str = "localhost") -> list[tuple[str, dict]]:
        return [(t.name, t.result) for t in self.timed_tasks(host)]

    def timed_task(self, name: str, host: str | None = None) -> TimedTask:
        """The last task whose name contains `name`."""
        matches = [t for t in self.timed_tasks(host) if name in t.name]
        if not matches:
            raise KeyError(f"no task named like {name!r} (rc={self.rc}); tasks: "
                           f"{[t.name for t in self.timed_tasks(host)]}; {self.failure()}")
        return matches[-1]

    def task(self, name: str, host: str = "localhost") -> dict:
        """The result of the last task whose name contains `name`."""
        return self.timed_task(name, host).result

    def changed_tasks(self, host: str = "localhost") -> list[str]:
        return [name for name, res in self.tasks(host) if res.get("changed")]

    def failed_tasks(self, host: str | None = None) -> list[tuple[str, str, str]]:
        """(host, task name, message) of every failed task (of one host, or all), to say why a run failed."""
        return [(t.host, t.name, str(t.result.get("msg", ""))[:1500]) for t in self.timed_tasks(host) if t.failed]

    def failure(self) -> str:
        """Why the run failed, in one line: the first failed task and its message, else the output's tail."""
        failed = [t for t in self.timed_tasks() if t.failed]
        if failed:
            res = failed[0].result
            return f"{failed[0].name}: {res.get('msg') or res.get('stderr') or res}"[:1500]
        return (self.stderr or self.stdout)[-1500:]

    def require_ok(self, what: str) -> "PlaybookResult":
        if self.rc != 0:
            raise RuntimeError(f"{what} failed (rc={self.rc}): {self.failure()}")
        return self

    def __repr__(self):
        return (f"PlaybookResult(rc={self.rc}, stats={self.stats}, failed={self.failed_tasks()}, "
                f"stderr={self.stderr[-2000:]!r})")


def ansible_env(env: dict | None = None, extra: dict | None = None) -> dict:
    merged = {**os.environ, **(env or {})}
    merged.update({
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "PYTHONFAULTHANDLER": "1",  # a hung run's processes print their stacks on SIGABRT (RunningPlaybook.wait)
        "PATH": f"{Path(sys.executable).parent}:{merged.get('PATH', '')}",
    })
    merged.update(extra or {})
    return merged


class RunningPlaybook:
    """An ansible-playbook process started by start_playbook(); wait() returns its PlaybookResult."""

    def __init__(self, cmd: list, env: dict, workdir: tempfile.TemporaryDirectory, json_output: bool):
        self._workdir, self._json = workdir, json_output
        self._started = time.perf_counter()
        # pylint: disable-next=consider-using-with  # wait() collects it
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)

    def wait(self, timeout: float = 1200) -> PlaybookResult:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PlaybookTimeout(timeout, *self._dump_and_kill()) from None
        finally:
            self._workdir.cleanup()
        wall = time.perf_counter() - self._started
        data = None
        if self._json:
            try:
                data = json.loads(out[out.index("{"):])
            except ValueError:
                data = None
        return PlaybookResult(subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err), data, wall)

    def _dump_and_kill(self) -> tuple[str, str]:
        """A hung run: the module processes (the leaves of the process tree) get SIGABRT and print every thread's
        stack (PYTHONFAULTHANDLER); ansible-playbook reports that as the task's failure (module_stderr) and usually
        ends by itself; if not, it gets the same, then SIGKILL. Returns the output, stacks included."""
        for pid in _descendants(self.proc.pid, leaves_only=True):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGABRT)
        try:
            return self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        for pid in [*_descendants(self.proc.pid), self.proc.pid]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGABRT)
        time.sleep(3)
        self.proc.kill()
        return self.proc.communicate()


class PlaybookTimeout(AssertionError):
    """ansible-playbook outlived its timeout; the message ends with its output and the stacks of its processes."""

    def __init__(self, timeout: float, out: str, err: str):
        super().__init__(f"ansible-playbook still ran after {timeout:.0f}s; its module processes got SIGABRT and "
                         f"printed their stacks (PYTHONFAULTHANDLER, in the task's module_stderr)\n"
                         f"--- stdout (tail) ---\n{out[-20000:]}\n--- stderr (tail) ---\n{err[-6000:]}")


def _descendants(pid: int, leaves_only: bool = False) -> list:
    """The process ids below pid (from /proc); only those without children of their own with leaves_only."""
    children: dict = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return [p for p in found if p not in children] if leaves_only else found


def start_playbook(playbook, env: dict | None = None, inventory: str | None = None, extra_vars: dict | None = None,
                   check: bool = False, diff: bool = False, verbosity: int = 0, tags: str | None = None,
                   json_output: bool = True, extra_env: dict | None = None) -> RunningPlaybook:
    """Start a playbook (a path, or a list of plays written to a temp file) without waiting for it."""
    workdir = tempfile.TemporaryDirectory()  # pylint: disable=consider-using-with  # removed by wait()
    tmp = Path(workdir.name)
    if not isinstance(playbook, (str, Path)):
        path = tmp / "play.yml"
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        playbook = path
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)]
    cmd += ["-i", inventory or "localhost,"]
    if extra_vars:
        vars_file = tmp / "extra_vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        cmd += ["-e", f"@{vars_file}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if tags:
        cmd += ["--tags", tags]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    extra = dict(JSON_CALLBACK) if json_output else {}
    extra.update(extra_env or {})
    return RunningPlaybook(cmd, ansible_env(env, extra), workdir, json_output)


def run_playbook(playbook, env: dict | None = None, inventory: str | None = None, extra_vars: dict | None = None,
                 check: bool = False, diff: bool = False, verbosity: int = 0, tags: str | None = None,
                 json_output: bool = True, timeout: int = 1200, extra_env: dict | None = None) -> PlaybookResult:
    """Run a playbook (a path, or a list of plays written to a temp file) and return its parsed result.

    json_output=False keeps the default callback, for tests that read the human output (-vvv greps).
    extra_env overrides the harness's own settings (e.g. ANSIBLE_COLLECTIONS_PATH of an installed copy).
    """
    return start_playbook(playbook, env=env, inventory=inventory, extra_vars=extra_vars, check=check, diff=diff,
                          verbosity=verbosity, tags=tags, json_output=json_output,
                          extra_env=extra_env).wait(timeout)


def write_group_vars(inventory: Path, name: str, values: dict) -> None:
    """Overrides in a file of their own, loaded after main.yml (group_vars files load in name order): no duplicate
    keys."""
    (inventory / "group_vars" / "neo4j_aks" / name).write_text("---\n" + yaml.safe_dump(values))


def local_inventory_copy(root: Path, name: str, values: dict) -> Path:
    """inventories/local copied to root/name, with `values` in group_vars/neo4j_aks/zz_<name>.yml."""
    inventory = root / name
    shutil.copytree(REPO / "inventories" / "local", inventory)
    write_group_vars(inventory, f"zz_{name}.yml", values)
    return inventory


def case_host(case: str) -> str:
    """The inventory host name run_cases() gives a case ("two servers" -> "case_two_servers")."""
    return "case_" + "".join(c if c.isalnum() else "_" for c in case.lower())


def run_cases(tasks: list, cases: dict, env: dict | None = None, common_vars: dict | None = None,
              check: bool = False, timeout: int = 1200) -> PlaybookResult:
    """Run one play once for many cases: each case is an inventory host (local connection) with its own vars.

    One ansible-playbook start instead of one per case (each start costs seconds of CPU); a case that fails stops only
    its own host. Read a case's results with result.task(name, host=case_host(case)) and
    result.failed_tasks(host=case_host(case)).
    """
    with tempfile.TemporaryDirectory() as tmp:
        hosts = {case_host(case): {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                   **case_vars} for case, case_vars in cases.items()}
        inventory = Path(tmp) / "cases.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}, sort_keys=False))
        play = [{"name": "cases", "hosts": "all", "gather_facts": False, "vars": dict(common_vars or {}),
                 "tasks": tasks}]
        return run_playbook(play, env=env, inventory=str(inventory), check=check, timeout=timeout)


def localhost_play(tasks: list, name: str = "test", gather_facts: bool = False, vars_: dict | None = None,
                   module_defaults: dict | None = None) -> list:
    """A one-play playbook on localhost with the venv's Python (where the modules' SDKs are)."""
    play = {"name": name, "hosts": "localhost", "connection": "local", "gather_facts": gather_facts,
            "vars": {"ansible_python_interpreter": sys.executable, **(vars_ or {})}, "tasks": tasks}
    if module_defaults:
        play["module_defaults"] = module_defaults
    return [play]


def real_pod_role_vars(env: dict, namespace: str, release: str, password: str) -> dict:
    """The neo4j role's variables that put Neo4j into a real pod on the test environment's kubelet node: the fixture
    image (already on the node), the node's StorageClass, its taints and labels, 1 CPU and 2Gi (the node has 2
    CPUs, and inventories/local's release, 1 CPU, may share it)."""
    extra = json.loads(env["TESTENV_REAL_NODE_VALUES"])
    image = extra.pop("image")
    extra["image"] = {"pullPolicy": image["pullPolicy"]}
    return {"neo4j_namespace": namespace, "neo4j_release_name": release, "neo4j_password": password,
            "neo4j_image_repository": image["repository"], "neo4j_image_tag": image["tag"],
            "neo4j_storage_class_name": env["TESTENV_REAL_NODE_STORAGE_CLASS"],
            "neo4j_cpu": "1", "neo4j_memory": "2Gi", "neo4j_volumes": {"data": "1Gi"},
            "neo4j_helm_timeout": "10m", "neo4j_rollout_timeout": 600, "neo4j_values_extra": extra}
