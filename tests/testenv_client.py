"""Helpers for tests: bring the test environment up, run ansible-playbook against it, read results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TESTENV = REPO / "tests" / "testenv" / "testenv.py"
FILES = REPO / "tests" / "files"  # data files the tests deploy (ARM templates, a smoke chart)
STATE_DIR = Path(os.environ.get("TESTENV_STATE_DIR", REPO / ".testenv"))
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


def kubectl(env: dict, *args, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """kubectl against the test cluster; with check, a failure raises with kubectl's own message."""
    proc = subprocess.run([env["KUBECTL_BIN"], *args], input=input_text, capture_output=True, text=True,
                          env={"KUBECONFIG": env["KUBECONFIG"], "PATH": env["PATH"]}, check=False, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
    return proc


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


class PlaybookResult:
    """The outcome of one ansible-playbook run, read from the ansible.posix.json callback."""

    def __init__(self, proc: subprocess.CompletedProcess, data: dict | None):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = data or {}

    @property
    def stats(self) -> dict:
        return self.data.get("stats", {})

    def changed(self, host: str = "localhost") -> int:
        return self.stats.get(host, {}).get("changed", 0)

    def tasks(self, host: str = "localhost") -> list[tuple[str, dict]]:
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                if host in task.get("hosts", {}):
                    out.append((task["task"]["name"], task["hosts"][host]))
        return out

    def task(self, name: str, host: str = "localhost") -> dict:
        """The result of the last task whose name contains `name`."""
        matches = [res for task_name, res in self.tasks(host) if name in task_name]
        if not matches:
            raise KeyError(f"no task named like {name!r}; tasks: {[task_name for task_name, _result in self.tasks(host)]}")
        return matches[-1]

    def changed_tasks(self, host: str = "localhost") -> list[str]:
        return [name for name, res in self.tasks(host) if res.get("changed")]

    def failed_tasks(self) -> list[tuple[str, str, str]]:
        """(host, task name, message) of every failed task, to say why a run failed."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task.get("hosts", {}).items():
                    if res.get("failed") or res.get("unreachable"):
                        out.append((host, task["task"]["name"], str(res.get("msg", ""))[:1500]))
        return out

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
        "PATH": f"{Path(sys.executable).parent}:{merged.get('PATH', '')}",
    })
    merged.update(extra or {})
    return merged


def run_playbook(playbook, env: dict | None = None, inventory: str | None = None, extra_vars: dict | None = None,
                 check: bool = False, diff: bool = False, verbosity: int = 0, tags: str | None = None,
                 json_output: bool = True, timeout: int = 1200, extra_env: dict | None = None) -> PlaybookResult:
    """Run a playbook (a path, or a list of plays written to a temp file) and return its parsed result.

    json_output=False keeps the default callback, for tests that read the human output (-vvv greps).
    extra_env overrides the harness's own settings (e.g. ANSIBLE_COLLECTIONS_PATH of an installed copy).
    """
    with tempfile.TemporaryDirectory() as tmp:
        if not isinstance(playbook, (str, Path)):
            path = Path(tmp) / "play.yml"
            path.write_text(yaml.safe_dump(playbook, sort_keys=False))
            playbook = path
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)]
        cmd += ["-i", inventory or "localhost,"]
        if extra_vars:
            vars_file = Path(tmp) / "extra_vars.json"
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
        extra = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"} \
            if json_output else {}
        extra.update(extra_env or {})
        proc = subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(env, extra), cwd=REPO,
                              timeout=timeout, check=False)
    data = None
    if json_output:
        try:
            data = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            data = None
    return PlaybookResult(proc, data)


def localhost_play(tasks: list, name: str = "test", gather_facts: bool = False, vars_: dict | None = None,
                   module_defaults: dict | None = None) -> list:
    """A one-play playbook on localhost with the venv's Python (where the modules' SDKs are)."""
    play = {"name": name, "hosts": "localhost", "connection": "local", "gather_facts": gather_facts,
            "vars": {"ansible_python_interpreter": sys.executable, **(vars_ or {})}, "tasks": tasks}
    if module_defaults:
        play["module_defaults"] = module_defaults
    return [play]
