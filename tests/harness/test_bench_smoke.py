"""Smoke test of the benchmark: `bench/run.py --runs 1 --quick` runs and writes its tables and chart.

No timing is asserted (timings belong in bench/results/, not in a pass/fail test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_bench_quick_produces_a_table(testenv_for, tmp_path):
    if not (REPO / ".venv-azcollection" / "bin" / "python").exists():
        pytest.skip("bench/setup.sh has not created .venv-azcollection (azure.azcollection's requirements)")
    testenv_for("kube", "neo4j")
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--runs", "1", "--quick",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = list(tmp_path.glob("*.md"))
    assert len(reports) == 1, proc.stderr[-3000:]
    text = reports[0].read_text()
    assert "Sections that failed" not in text, text
    assert "| module / run | ARM requests |" in text
    assert "| bicep_deployment / no-op |" in text and "| azure_rm_deployment / no-op |" in text
    assert "## 3. Health" in text
    assert "## Machine" in text
    assert list(tmp_path.glob("*.png")) and list(tmp_path.glob("*.json"))
