"""The harness itself (tests/testenv_client.py), which the tests and the bench share: playbook runs and their
parsed results with task timings, a playbook started in the background, and a private ARM test double driven by
the real module (own port, CA, secret and state)."""

from __future__ import annotations

import time
import uuid

import pytest

from testenv.components.base import port_open
from testenv_client import FILES, ArmDoubleClient, localhost_play, private_arm_double, run_playbook, start_playbook


def test_run_playbook_parses_tasks_timings_and_failure(tmp_path):
    marker = tmp_path / "marker"
    plays = localhost_play([
        {"name": "Write a marker", "ansible.builtin.copy": {"content": "x", "dest": str(marker), "mode": "0600"}},
        {"name": "Wait a little", "ansible.builtin.pause": {"seconds": 1}},
        {"name": "Fail on purpose", "ansible.builtin.fail": {"msg": "stop here"}},
    ])
    result = run_playbook(plays)
    assert result.rc == 2 and marker.read_text() == "x"
    assert result.changed() == 1 and result.changed(None) == 1
    assert result.changed_tasks() == ["Write a marker"]
    paused = result.timed_task("Wait a little")
    assert paused.host == "localhost" and 1.0 <= paused.seconds < 30 and paused.end is not None
    assert result.wall >= paused.seconds
    assert [t.name for t in result.timed_tasks()] == ["Write a marker", "Wait a little", "Fail on purpose"]
    assert result.failed_tasks() == [("localhost", "Fail on purpose", "stop here")]
    assert result.failure() == "Fail on purpose: stop here"
    with pytest.raises(RuntimeError, match="marker play failed .rc=2.: Fail on purpose: stop here"):
        result.require_ok("marker play")
    with pytest.raises(KeyError, match="no task named like 'absent'"):
        result.task("absent")

    again = run_playbook(plays)
    assert again.changed() == 0 and again.task("Write a marker")["changed"] is False


def test_start_playbook_runs_in_the_background():
    started = time.perf_counter()
    running = start_playbook(localhost_play([{"name": "Sleep", "ansible.builtin.pause": {"seconds": 2}}]))
    assert time.perf_counter() - started < 2  # returned before the play ended
    result = running.wait(timeout=120).require_ok("sleep")
    assert result.timed_task("Sleep").seconds >= 2 and result.wall >= 2


def test_private_arm_double_is_its_own_and_stops_after_the_block(testenv_for, tmp_path):
    shared = testenv_for("arm")
    rg = "rg-harness-" + uuid.uuid4().hex[:8]
    deploy = {"name": "Deploy the storage template", "neo4j_azure.aks.bicep_deployment": {
        "name": "storage", "resource_group": rg, "create_resource_group": True, "location": "westeurope",
        "template_file": str(FILES / "arm" / "storage.json"),
        "parameters": {"prefix": "hrns", "adminPassword": "Harness-" + uuid.uuid4().hex, "retentionDays": 7}}}
    with private_arm_double(tmp_path / "arm") as arm:
        assert arm.env["TESTENV_ARM_ENDPOINT"] != shared["TESTENV_ARM_ENDPOINT"]
        assert arm.env["TESTENV_AZURE_CLIENT_SECRET"] != shared["TESTENV_AZURE_CLIENT_SECRET"]
        port = int(arm.env["TESTENV_ARM_ENDPOINT"].rsplit(":", 1)[1])
        play = localhost_play([deploy], module_defaults={"group/neo4j_azure.aks.azure": arm.auth})
        first = run_playbook(play, env=shared).require_ok("first deploy")
        assert first.task("Deploy the storage template")["changed"] is True
        since = arm.client.last_seq()
        second = run_playbook(play, env=shared).require_ok("second deploy")
        assert second.task("Deploy the storage template")["changed"] is False
        writes = [r for r in arm.client.requests(since) if r["method"] in ("PUT", "PATCH", "DELETE")]
        assert writes == []
        resources, deployments = arm.client.held(rg)
        assert "storage" in deployments and resources
        assert ArmDoubleClient(shared).held(rg) == (set(), set())  # nothing reached the shared double
        arm.client.reset(state=True)
        assert arm.client.held(rg) == (set(), set())
    assert not port_open(port)
