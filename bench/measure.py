"""What every bench section shares: paths, the run context, the Section contract, samples and their statistics,
and the machine description. The test environment, the playbook runner and the ARM double come from the tests'
harness (tests/testenv_client.py), not from a copy."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
PLAYBOOKS = BENCH / "playbooks"
AZCOLLECTION_VENV = Path(os.environ.get("AZCOLLECTION_VENV", REPO / ".venv-azcollection"))
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))  # the harness: testenv_client and the testenv package


def log(msg: str) -> None:
    print(f"[bench] {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


@dataclass
class Bench:
    """What a section is given: the test environment's variables, repetitions, a scratch directory, --quick."""

    env: dict
    runs: int
    tmp: Path
    quick: bool = False


@dataclass(frozen=True)
class Section:
    """One part of the bench. measure() yields (results key, data) as each part is done (what was measured stays
    when a later part fails); markdown() renders those keys, panels() gives the chart's panels. Adding a case
    (e.g. scaling over servers) is one module with one Section, listed in sections/__init__.py."""

    name: str
    needs: tuple | None  # test environment components; None: all of them
    measure: Callable[[Bench], Iterator[tuple[str, dict]]]
    markdown: Callable[[dict, dict], list]  # (results, meta) -> lines
    panels: Callable[[dict], list] = lambda results: []
    method: str = ""  # a bullet of "How it was measured"
    keys: tuple = field(default=())  # results keys it writes (default: its name)

    @property
    def result_keys(self) -> tuple:
        return self.keys or (self.name,)


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


class Samples:
    """Samples grouped by variant and phase (or any case label: "3 servers", "10,000 backups"), summarized as
    {"<variant> / <phase>": {metric: stats}} in the order the cases were declared."""

    def __init__(self, variants, phases=("first", "no-op")):
        self.by_case = {(v, p): [] for v in variants for p in phases}

    def add(self, variant: str, phase: str, sample: dict) -> None:
        self.by_case[(variant, phase)].append(sample)

    def summary(self) -> dict:
        return {f"{v} / {p}": summarize(s) for (v, p), s in self.by_case.items()}


def run_command(cmd) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def machine() -> dict:
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
    return {
        "nproc": os.cpu_count(), "memory_gib": round(mem_kb / 1048576, 1), "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "ansible_core": run_command([str(REPO / ".venv" / "bin" / "ansible"), "--version"]).splitlines()[0:1],
        "helm": run_command([os.environ.get("HELM_BIN", "helm"), "version", "--short"]),
        "kubectl": run_command([os.environ.get("KUBECTL_BIN", "kubectl"), "version", "--client", "-o", "json"]),
        "azure_mgmt_resource": run_command([str(AZCOLLECTION_VENV / "bin" / "python"), "-c",
                                            "import importlib.metadata as m; print(m.version('azure-mgmt-resource'))"]),
        "azcollection": _azcollection_version(),
        "neo4j": os.environ.get("NEO4J_VERSION", "n/a"),
        "load_average": load_average(),
    }


def load_average() -> list:
    """1, 5 and 15 minute load averages (other jobs share the machine: the figures depend on it)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _azcollection_version() -> str:
    manifest = REPO / ".venv" / "lib" / "python3.11" / "site-packages" / "ansible_collections" / "azure" / \
        "azcollection" / "MANIFEST.json"
    try:
        return json.loads(manifest.read_text())["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return "n/a"
