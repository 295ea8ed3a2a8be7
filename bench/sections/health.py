"""Section 3, health: what one neo4j_health check costs next to a bare driver `RETURN 1`, and how long the
module takes (wait: true, default backoff) to see a server that became ready (a private Neo4j)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from measure import PLAYBOOKS, Bench, Section, log, summarize
from report import Panel, fmt, table
from testenv.components.neo4j_server import Neo4jInstance
from testenv_client import run_playbook, start_playbook

HEALTH_TASK = "Check Neo4j with neo4j_health"


def bare_return_one(uri: str, password: str) -> float:
    import neo4j  # pylint: disable=import-outside-toplevel
    started = time.perf_counter()
    with neo4j.GraphDatabase.driver(uri, auth=("neo4j", password), connection_timeout=5) as driver:
        driver.execute_query("RETURN 1")
    return time.perf_counter() - started


def bare_return_one_process(uri: str, password: str) -> float:
    """The same in a fresh interpreter: Python start-up and the driver import included, as in a module run."""
    code = ("import os, neo4j\n"
            "with neo4j.GraphDatabase.driver(os.environ['B_URI'], auth=('neo4j', os.environ['B_PW'])) as d:\n"
            "    d.execute_query('RETURN 1')\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "B_URI": uri, "B_PW": password})
    return time.perf_counter() - started


def health_answer(uri: str, password: str, timeout: float = 300) -> float:
    """When the server first answers the health question: a bare driver asks what a probe asks on a fresh server
    (dbms.components, then SHOW DATABASES on system) until every database is online; returns that answer's time.

    On a Neo4j that has just started, the first SHOW DATABASES costs about 2 s server-side whoever sends it (a
    second one 0.02 s), so no client can know the databases' states sooner than this."""
    import neo4j  # pylint: disable=import-outside-toplevel
    deadline = time.monotonic() + timeout
    with neo4j.GraphDatabase.driver(uri, auth=("neo4j", password), connection_timeout=5) as driver:
        while True:
            driver.execute_query("CALL dbms.components() YIELD name RETURN name", database_="system")
            rows, _summary, _keys = driver.execute_query("SHOW DATABASES YIELD name, currentStatus",
                                                         database_="system")
            if rows and all(row["currentStatus"] == "online" for row in rows):
                return time.time()
            if time.monotonic() > deadline:
                raise RuntimeError(f"bench: databases not all online after {timeout} s: {rows}")
            time.sleep(0.1)


def one_check(bench: Bench) -> dict:
    """One check on the shared server (read-only): the module's task time vs a bare driver RETURN 1."""
    env, samples = bench.env, []
    for rep in range(bench.runs):
        run = run_playbook(PLAYBOOKS / "health.yml", env=env, extra_vars={
            "bench_neo4j_uri": env["NEO4J_URI"], "bench_neo4j_password": env["NEO4J_PASSWORD"],
            "bench_wait": False}, timeout=1800).require_ok("health once")
        health = run.timed_task(HEALTH_TASK)
        sample = {"module_task_s": health.seconds, "noop_module_task_s": run.timed_task("ping").seconds,
                  "bare_driver_s": bare_return_one(env["NEO4J_URI"], env["NEO4J_PASSWORD"]),
                  "bare_process_s": bare_return_one_process(env["NEO4J_URI"], env["NEO4J_PASSWORD"]),
                  "reported_latency_ms": (health.result.get("latency_ms") or {}).get("median"),
                  "playbook_wall_s": run.wall}
        sample["overhead_s"] = sample["module_task_s"] - sample["bare_driver_s"]
        samples.append(sample)
        log(f"health once #{rep + 1}: module {health.seconds:.2f}s, bare {sample['bare_driver_s']:.3f}s")
    return summarize(samples)


def detection(bench: Bench) -> dict:
    """The module waits (default backoff) on a private server that is started meanwhile. Each repetition has two
    trials: unobserved (only the module asks once RETURN 1 answers) and observed (a bare driver also asks the
    probe's questions from then on, to time when the server can first tell anyone its databases are online)."""
    inst = Neo4jInstance.create(bench.tmp / "neo4j")
    samples = []

    def trial(observe: bool) -> dict:
        inst.stop()
        waiting = start_playbook(PLAYBOOKS / "health.yml", env=bench.env, extra_vars={
            "bench_neo4j_uri": inst.uri, "bench_neo4j_password": inst.password, "bench_wait": True})
        time.sleep(3)  # the module is probing an unreachable server by now
        inst.start()  # returns once a RETURN 1 succeeds on the default database (polled every 0.25 s)
        reachable = time.time()
        answered = health_answer(inst.uri, inst.password) if observe else None
        task = waiting.wait(timeout=400).require_ok("health wait").timed_task(HEALTH_TASK)
        probes = task.result.get("attempts") or 0
        out = {"delay_s": task.end - reachable, "server_start_to_ready_s": reachable - (task.end - task.seconds),
               "probes": probes,
               # mean time between probe starts: the module's elapsed_s runs from its first probe's start to its
               # last probe's end
               "probe_interval_s": (task.result.get("elapsed_s") or 0) / (probes - 1) if probes > 1 else None}
        if answered is not None:
            out.update(after_answer_s=task.end - answered, floor_s=answered - reachable)
        return out

    try:
        for rep in range(bench.runs):
            plain, observed = trial(False), trial(True)
            samples.append({"detection_delay_s": plain["delay_s"],
                            "server_start_to_ready_s": plain["server_start_to_ready_s"],
                            "probes": plain["probes"], "probe_interval_s": plain["probe_interval_s"],
                            "observed_detection_delay_s": observed["delay_s"],
                            "answer_floor_s": observed["floor_s"],
                            "detection_after_answer_s": observed["after_answer_s"],
                            "observed_probes": observed["probes"],
                            "observed_probe_interval_s": observed["probe_interval_s"]})
            log(f"health detection #{rep + 1}: unobserved {plain['delay_s']:.2f}s from RETURN 1; observed "
                f"{observed['delay_s']:.2f}s from RETURN 1, {observed['after_answer_s']:.2f}s from SHOW DATABASES")
    finally:
        inst.stop()
    return summarize(samples)


def measure(bench: Bench):
    result = {"one check": one_check(bench)}
    if not bench.quick:
        result["detection"] = detection(bench)
    yield "health", result


def markdown(results: dict, meta: dict) -> list:  # pylint: disable=unused-argument
    health = results["health"]
    one = health["one check"]
    rows = [["neo4j_health task (one check, shared server)", fmt(one["module_task_s"], digits=3)],
            ["bare driver: connect + RETURN 1 + close (in-process)", fmt(one["bare_driver_s"], digits=3)],
            ["bare driver in a fresh `python -c` (start-up + import + the same)", fmt(one["bare_process_s"], digits=3)],
            ["overhead of one check (task - bare driver)", fmt(one["overhead_s"], digits=3)],
            ["any module run here (ansible.builtin.ping task)", fmt(one["noop_module_task_s"], digits=3)]]
    if "detection" in health:
        det = health["detection"]
        rows += [["detection delay: server answers RETURN 1 -> neo4j_health (wait, default cadence: probe starts "
                  "0.5 s apart) succeeds (unobserved trial)", fmt(det["detection_delay_s"], digits=2)],
                 ["(task start to server ready: how long the module had been waiting)",
                  fmt(det["server_start_to_ready_s"], digits=2)]]
        if "detection_after_answer_s" in det:
            rows += [["observed trial (a bare driver asks the probe's questions from the first RETURN 1 on): server "
                      "answers RETURN 1 -> neo4j_health succeeds", fmt(det["observed_detection_delay_s"], digits=2)],
                     ["observed trial: server answers RETURN 1 -> it first answers SHOW DATABASES with every database "
                      "online (the server's own first-query floor)", fmt(det["answer_floor_s"], digits=2)],
                     ["**observed trial: server answers SHOW DATABASES all online -> neo4j_health succeeds** "
                      "(target 4)", fmt(det["detection_after_answer_s"], digits=2)],
                     ["observed trial: probes sent while waiting (count) / mean time between probe starts s",
                      f"{fmt(det['observed_probes'])} / {fmt(det['observed_probe_interval_s'], digits=2)}"]]
        if "probes" in det:
            rows += [["unobserved trial: probes sent while waiting (count, not seconds)", fmt(det["probes"])]]
        if "probe_interval_s" in det:
            rows += [["unobserved trial: mean time between probe starts", fmt(det["probe_interval_s"], digits=2)]]
    return ["## 3. Health", ""] + table(["figure", "seconds"], rows) + [""]


def panels(results: dict) -> list:
    one = results["health"]["one check"]
    labels = ["neo4j_health", "ping module", "bare driver"]
    stats = [one["module_task_s"], one["noop_module_task_s"], one["bare_driver_s"]]
    if "detection" in results["health"]:
        labels.append("detection delay")
        stats.append(results["health"]["detection"]["detection_delay_s"])
    return [Panel("Health check", labels, [stats], ["seconds"], "seconds")]


METHOD = """\
- Health: "one check" runs neo4j_health (no write probe) on the shared server; detection delay uses a
  private server: the module starts waiting, then the server is started; "reachable" is when the server first
  answers RETURN 1 (polled every 0.25 s) and the delay ends at the end of the module's task. Each repetition
  has an unobserved trial (only the module asks after that) and an observed one: a bare driver asks what a probe
  asks (dbms.components, SHOW DATABASES) from the moment RETURN 1 succeeds until it sees every database online,
  "the server answers the health question". On a Neo4j that has just started the first SHOW DATABASES costs 2-3 s
  server-side whoever sends it, so that is the earliest any client can know; the observer's queries also load the
  two cores, so the observed delay from RETURN 1 is longer than the unobserved one. Target 4 is judged on the observed
  trial's delay from that answer."""

SECTION = Section(name="health", needs=("neo4j",), measure=measure, markdown=markdown, panels=panels, method=METHOD)
