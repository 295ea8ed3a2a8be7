"""The Neo4j alert rules (roles/infra/files/bicep/alerts/neo4j-alerts.yml) with Prometheus' own promtool.

Proves: `promtool check rules` accepts the file; `promtool test rules` passes its unit tests
(neo4j-alerts.test.yml, synthetic series); every alert of the file has a firing case (a test expecting it) and a
quiet case (a test expecting none of it); the compiled infra template (main.json) carries every rule of the file
(loadYamlContent), with the Prometheus `for` as ISO 8601 and the severity label as Azure's severity, so what is
tested is what is deployed. promtool is built from the Go module proxy by tests/testenv/build-binaries.sh
(cached by version; a warm cache makes that a no-op).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ALERTS = REPO / "roles" / "infra" / "files" / "bicep" / "alerts"
RULES = ALERTS / "neo4j-alerts.yml"
RULE_TESTS = ALERTS / "neo4j-alerts.test.yml"
MAIN_JSON = REPO / "roles" / "infra" / "files" / "bicep" / "main.json"
AZURE_SEVERITY = {"critical": 0, "warning": 2, "info": 3}


@pytest.fixture(scope="module", name="promtool")
def promtool_fixture() -> Path:
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain: promtool is built from the Go module proxy (tests/testenv/build-binaries.sh)")
    script = REPO / "tests" / "testenv" / "build-binaries.sh"
    proc = subprocess.run(["bash", str(script), "promtool"], capture_output=True, text=True, timeout=3600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = Path(proc.stdout.strip().splitlines()[-1]) / "promtool"
    assert os.access(path, os.X_OK), path
    return path


def alerts_of_file() -> list:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_promtool_checks_the_rules(promtool):
    proc = subprocess.run([str(promtool), "check", "rules", str(RULES)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(alerts_of_file())} rules found" in proc.stdout, proc.stdout


def test_promtool_unit_tests_pass(promtool):
    started = time.monotonic()
    proc = subprocess.run([str(promtool), "test", "rules", RULE_TESTS.name], capture_output=True, text=True,
                          timeout=300, check=False, cwd=ALERTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout, proc.stdout
    print(f"\npromtool test rules: {time.monotonic() - started:.1f}s")


def test_every_alert_has_a_firing_and_a_quiet_case():
    tests = yaml.safe_load(RULE_TESTS.read_text())
    assert tests["rule_files"] == [RULES.name]
    firing, quiet = set(), set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test") or []:
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = [rule["alert"] for rule in alerts_of_file()]
    assert len(names) == len(set(names)), "an alert name is used twice"
    assert not set(names) - firing, f"alerts without a firing case: {sorted(set(names) - firing)}"
    assert not set(names) - quiet, f"alerts without a quiet case: {sorted(set(names) - quiet)}"
    assert not (firing | quiet) - set(names), "tests name alerts the rule file does not have"


def test_every_rule_follows_the_conventions_the_template_relies_on():
    for rule in alerts_of_file():
        assert rule["labels"]["severity"] in AZURE_SEVERITY, rule["alert"]
        assert rule["for"][-1] in "mh" and rule["for"][:-1].isdigit(), rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_the_compiled_template_deploys_the_tested_rules():
    """main.json inlines the rule file (loadYamlContent): each rule group of it is a prometheusRuleGroups
    resource whose rules are the file's, converted to Azure's shape."""
    compiled = MAIN_JSON.read_text()
    assert "Microsoft.AlertsManagement/prometheusRuleGroups" in compiled
    source = yaml.safe_load(RULES.read_text())
    inlined = [value for value in _walk(json.loads(compiled)) if isinstance(value, dict) and "groups" in value]
    assert source in inlined, "main.json does not carry neo4j-alerts.yml as it is: run `make bicep-build`"


def _walk(node):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from _walk(child)
