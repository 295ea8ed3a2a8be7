"""plugins/filter/rollout.py: statefulset_rollout tells ready, progressing and failed apart from a read, so the neo4j
role stops waiting at a container that cannot start."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.neo4j_azure.aks.plugins.filter.rollout import FilterModule, statefulset_rollout

pytestmark = pytest.mark.unit


def sts(ready=1, replicas=1, update="neo4j-2", current="neo4j-2", generation=2, observed=2, updated=1):
    return {"metadata": {"name": "neo4j", "generation": generation}, "spec": {"replicas": replicas},
            "status": {"readyReplicas": ready, "updateRevision": update, "currentRevision": current,
                       "observedGeneration": observed, "updatedReplicas": updated}}


def pod(name="neo4j-0", revision="neo4j-2", statuses=None, init=None, phase="Running"):
    return {"metadata": {"name": name, "labels": {"controller-revision-hash": revision}},
            "status": {"phase": phase, "containerStatuses": statuses or [], "initContainerStatuses": init or []}}


def running(name="neo4j", ready=True, restarts=0, last=None):
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": "x"}},
            "lastState": {"terminated": last} if last else {}}


def test_ready_when_every_server_is_ready_on_the_update_revision():
    out = statefulset_rollout([sts()], [pod(statuses=[running()])])
    assert out["state"] == "ready" and out["done"] and out["pod"] is None


@pytest.mark.parametrize("kwargs", [dict(ready=0), dict(current="neo4j-1"), dict(observed=1)])
def test_progressing_until_ready_current_and_observed(kwargs):
    out = statefulset_rollout(sts(**kwargs), [pod(statuses=[running(ready=False)])])
    assert out["state"] == "progressing" and not out["done"]
    if kwargs.get("ready") == 0:
        assert (out["pod"], out["container"]) == ("neo4j-0", "neo4j")  # where to read the log on a timeout


def test_missing_statefulset_is_progressing():
    assert statefulset_rollout([], [])["reason"] == "the StatefulSet does not exist (yet)"


def test_crash_loop_of_the_new_revision_fails_with_the_exit_code_and_the_previous_log():
    crashed = {"name": "neo4j", "ready": False, "restartCount": 2,
               "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    out = statefulset_rollout(sts(ready=0, current="neo4j-1"), [pod(statuses=[crashed])])
    assert out["state"] == "failed" and out["done"] and out["previous"]
    assert (out["pod"], out["container"]) == ("neo4j-0", "neo4j")
    assert "CrashLoopBackOff" in out["reason"] and "last exit code 1 (Error)" in out["reason"]
    assert "2 restart(s)" in out["reason"]


def test_exit_then_restart_fails_before_the_back_off_shows():
    out = statefulset_rollout(sts(ready=0), [pod(statuses=[running(ready=False, restarts=1,
                                                                   last={"exitCode": 137, "reason": "OOMKilled"})])])
    assert out["state"] == "failed" and "exited with code 137 (OOMKilled)" in out["reason"] and out["previous"]


def test_the_termination_message_travels_with_the_failure():
    said = "Error: Unrecognized setting. No declared setting with name: server.x."
    crashed = {"name": "neo4j", "ready": False, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": said}}}
    out = statefulset_rollout(sts(ready=0), [pod(statuses=[crashed])])
    assert out["state"] == "failed" and out["message"] == said
    assert statefulset_rollout(sts(), [pod()])["message"] == ""


def test_init_container_and_image_failures_count():
    init = [{"name": "init-plugins", "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull"}}}]
    out = statefulset_rollout(sts(ready=0), [pod(init=init)])
    assert out["state"] == "failed" and "init container init-plugins: ErrImagePull" in out["reason"]
    assert not out["previous"]


def test_an_old_revision_pod_is_not_judged():
    crashed = {"name": "neo4j", "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    out = statefulset_rollout(sts(ready=0, replicas=1), [pod(revision="neo4j-1", statuses=[crashed])])
    assert out["state"] == "progressing"


def test_failed_phase_and_container_creating_wait():
    assert statefulset_rollout(sts(ready=0), [pod(phase="Failed")])["state"] == "failed"
    creating = {"name": "neo4j", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}
    assert statefulset_rollout(sts(ready=0), [pod(statuses=[creating])])["state"] == "progressing"


def test_replicas_given_overrides_the_spec_and_more_than_one_statefulset_is_refused():
    assert statefulset_rollout(sts(ready=1, replicas=1), [pod(statuses=[running()])], replicas=3)["state"] == \
        "progressing"
    with pytest.raises(AnsibleFilterError, match="2 StatefulSets given"):
        statefulset_rollout([sts(), sts()], [])
    assert FilterModule().filters()["statefulset_rollout"] is statefulset_rollout
