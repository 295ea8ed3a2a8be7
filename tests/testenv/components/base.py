"""Shared plumbing of the test environment: context, processes, ports and waiting."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class TestEnvError(RuntimeError):
    """A component could not be built or started; the message says which and how to fix it."""


@dataclass
class Context:
    repo: Path
    state_dir: Path
    cache_dir: Path
    verbose: bool = True
    env: dict = field(default_factory=dict)  # variables exported by components started so far

    @property
    def bin_dir(self) -> Path:
        return self.cache_dir / "bin"

    def component_dir(self, name: str) -> Path:
        path = self.state_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"[testenv] {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


class Component:
    """One service of the environment. Subclasses fill in build/start/is_running."""

    name = "component"

    def build(self, ctx: Context) -> None:
        """Fetch or build cached artifacts (idempotent, keyed by version)."""

    def start(self, ctx: Context) -> dict:
        """Start the service; return its state: {"pids": [...], "env": {...}, ...}."""
        raise NotImplementedError

    def is_running(self, ctx: Context, state: dict) -> bool:
        return all(pid_alive(p) for p in state.get("pids", [])) and bool(state.get("pids"))

    def stop(self, ctx: Context, state: dict) -> None:
        for pid in state.get("pids", []):
            kill_group(pid)


def free_port() -> int:
    """A TCP port free on loopback right now (the kernel picks it, so two callers never clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def host_ip() -> str:
    """The host's IPv4 address on its default route: what the real node's pods (and its kubelet) reach the host at."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            return sock.getsockname()[0]
        except OSError as err:
            raise TestEnvError(f"no IPv4 address on a default route ({err})") from err


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); read its state to be sure.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def spawn(cmd: list, log_file: Path, env: dict | None = None, cwd: Path | None = None) -> int:
    """Start a long-running process in its own session (so `down` can kill its whole group)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
    return proc.pid


def kill_group(pid: int, timeout: float = 15) -> None:
    """SIGTERM the process group of pid, then SIGKILL what is left after timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                return
            time.sleep(0.2)


def log_tail(log_file: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until(check, timeout: float, what: str, log_file: Path | None = None, pid: int | None = None,
               interval: float = 0.5):
    """Poll check() until it returns a truthy value; fail with the service's log tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if pid is not None and not pid_alive(pid):
            raise TestEnvError(f"{what}: the process exited.\n--- log tail ({log_file}) ---\n"
                               f"{log_tail(log_file) if log_file else ''}")
        time.sleep(interval)
    raise TestEnvError(f"{what}: not ready after {timeout:.0f}s.\n--- log tail ({log_file}) ---\n"
                       f"{log_tail(log_file) if log_file else ''}")


def run(cmd: list, what: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600,
        input_text: str | None = None) -> str:
    """Run a short command; on failure raise with its output so the cause is visible."""
    try:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})}, cwd=cwd, input=input_text, check=False)
    except FileNotFoundError as err:
        raise TestEnvError(f"{what}: {cmd[0]} is not installed ({err})") from err
    except subprocess.TimeoutExpired as err:
        raise TestEnvError(f"{what}: timed out after {timeout}s: {' '.join(map(str, cmd))}") from err
    if proc.returncode != 0:
        raise TestEnvError(f"{what} failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default
