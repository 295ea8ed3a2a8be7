"""The test environment's own contract: `up` reuses what runs, `down` (or `down --only`) leaves no process behind.

Runs a second, private environment (its own state dir, so its own kwok cluster name and ports) next to
the shared one, so the suite's environment is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTENV = REPO / "tests" / "testenv" / "testenv.py"


def run_testenv(state_dir, *args):
    env = {**os.environ, "TESTENV_STATE_DIR": str(state_dir)}
    return subprocess.run([sys.executable, str(TESTENV), *args], capture_output=True, text=True, env=env,
                          check=False, timeout=600)


def processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if text in (proc / "cmdline").read_bytes().decode(errors="replace") and alive(int(proc.name)):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def alive(pid: int) -> bool:
    """Running, not a zombie (this container's init may reap late)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_up_reuses_and_down_leaves_nothing(tmp_path, testenv_for):
    testenv_for("kube")  # the binaries exist (built once, cached)
    state_dir = tmp_path / "env"
    first = run_testenv(state_dir, "up", "--only", "kube,azurite")
    assert first.returncode == 0, first.stderr
    status = json.loads(run_testenv(state_dir, "status").stdout)
    assert status["kube"]["running"] and status["azurite"]["running"]
    env = json.loads((state_dir / "env.json").read_text())
    assert env["KUBECONFIG"].startswith(str(state_dir))
    assert oct((state_dir / "env.json").stat().st_mode & 0o777) == "0o600"

    started = time.monotonic()
    second = run_testenv(state_dir, "up", "--only", "kube,azurite")
    assert second.returncode == 0, second.stderr
    assert "already running, reused" in second.stderr
    assert time.monotonic() - started < 30
    assert json.loads(run_testenv(state_dir, "status").stdout)["azurite"]["pids"] == status["azurite"]["pids"]

    # down --only stops that component alone; its variables leave the env file.
    partial = run_testenv(state_dir, "down", "--only", "azurite")
    assert partial.returncode == 0, partial.stderr
    time.sleep(1)
    assert not any(alive(pid) for pid in status["azurite"]["pids"])
    between = json.loads(run_testenv(state_dir, "status").stdout)
    assert between["kube"]["running"] and not between["azurite"]["running"]
    assert "AZURE_STORAGE_CONNECTION_STRING" not in json.loads((state_dir / "env.json").read_text())

    down = run_testenv(state_dir, "down")
    assert down.returncode == 0, down.stderr
    time.sleep(1)
    assert processes_mentioning(str(state_dir)) == []
    assert not any(alive(pid) for pid in status["azurite"]["pids"])
    after = json.loads(run_testenv(state_dir, "status").stdout)
    assert not after["kube"]["running"] and not after["azurite"]["running"]


def test_unknown_component_is_named(tmp_path):
    proc = run_testenv(tmp_path, "up", "--only", "kube,mongodb")
    assert proc.returncode != 0
    assert "mongodb" in proc.stderr and "choose from" in proc.stderr
