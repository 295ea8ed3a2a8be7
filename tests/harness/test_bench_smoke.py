"""Smoke test of the benchmark: `bench/run.py --runs 1 --quick` runs and writes its tables and chart, and
`--report-only` rewrites the same report from the raw results.

No timing is asserted (timings belong in bench/results/, not in a pass/fail test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "bench" / "run.py"


def bench(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True, cwd=REPO, timeout=600,
                          check=False)


def test_bench_quick_produces_a_table(testenv_for, tmp_path):
    if not (REPO / ".venv-azcollection" / "bin" / "python").exists():
        pytest.skip("bench/setup.sh has not created .venv-azcollection (azure.azcollection's requirements)")
    testenv_for("kube", "neo4j")
    proc = bench("--runs", "1", "--quick", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = list(tmp_path.glob("*.md"))
    assert len(reports) == 1, proc.stderr[-3000:]
    text = reports[0].read_text()
    assert "Sections that failed" not in text, text
    assert "| module / run | ARM requests |" in text
    assert "| bicep_deployment / no-op |" in text and "| azure_rm_deployment / no-op |" in text
    assert "### 1b. ARM double timing profile \"azure-like\"" in text and "### 1c. No-op re-run" in text
    assert "## 3. Health" in text
    assert "## Machine" in text
    raw = list(tmp_path.glob("*.json"))
    assert list(tmp_path.glob("*.png")) and raw

    # The report is a function of the raw results: rewriting it from the JSON gives the same Markdown.
    reports[0].unlink()
    again = bench("--report-only", str(raw[0]))
    assert again.returncode == 0, again.stderr[-3000:]
    assert reports[0].read_text() == text
