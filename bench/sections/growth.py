"""Section 5, growth: how the cost of a run grows with the size of what it manages.

- the neo4j role and playbooks/site.yml for 1, 3, 5 and 7 Enterprise servers on the kwok cluster (API requests
  through `kubectl proxy -v=6`, time), first run and no-op;
- neo4j_health for 1, 10 and 50 databases. The test environment's Neo4j is Community (Enterprise jars are not on
  Maven Central), which has one user database and cannot CREATE DATABASE: the module's run is measured on it as it
  is, and 10 and 50 databases are the module's own probe code (module_utils/neo4j_health.HealthCheck) against the
  same real server, its SHOW DATABASES answer extended with synthetic online databases (Bolt queries counted).
"""

from __future__ import annotations

import secrets
import sys
import time

from measure import PLAYBOOKS, REPO, Bench, Samples, Section, log, summarize
from report import Panel, fmt, table
from sections.kube import HelmShim, KubeProxy, _variant_run, remove_release
from testenv_client import private_arm_double, run_playbook

if str(REPO / ".collections") not in sys.path:  # the collection as ansible_collections.neo4j_azure.aks (make setup)
    sys.path.insert(0, str(REPO / ".collections"))

SERVERS = (1, 3, 5, 7)
DATABASES = (1, 10, 50)
HEALTH_TASK = "Check Neo4j with neo4j_health"


def servers_vars(servers: int) -> dict:
    """Enterprise with `servers` servers on the simulated (kwok) nodes. The kwok cluster has three Neo4j-pool nodes,
    so the one-server-per-node anti-affinity is made preferred: 5 and 7 servers share nodes."""
    return {"neo4j_edition": "enterprise", "neo4j_accept_license_agreement": "yes", "neo4j_servers": servers,
            "local_real_node": False, "neo4j_values_extra": {"scheduling": {"podAntiAffinity": "preferred"}}}


def label(servers: int) -> str:
    return f"{servers} server{'s' if servers > 1 else ''}"


def measure_role(bench: Bench, proxy: KubeProxy, shim: HelmShim, suffix: str) -> dict:
    samples = Samples([label(n) for n in SERVERS])
    for rep in range(bench.runs):
        for servers in SERVERS:
            ns = f"bench-grow-{suffix}-{servers}-{rep}"
            path, _task, extra = _variant_run("neo4j role", ns, proxy, shim, bench.tmp / "values.json")
            extra.pop("bench_values_file", None)
            extra.update(servers_vars(servers))
            try:
                for phase in ("first", "no-op"):
                    mark = proxy.mark()
                    run = run_playbook(path, env=bench.env, extra_vars=extra, timeout=1800).require_ok(
                        f"growth role {servers} {phase}")
                    time.sleep(0.2)  # let the proxy flush its last log line
                    tasks = [t for t in run.timed_tasks() if "/roles/neo4j/" in t.path]
                    sample = {"wall_s": run.wall, "task_s": sum(t.seconds for t in tasks),
                              "changed": any(t.changed for t in tasks), **proxy.count(mark)}
                    samples.add(label(servers), phase, sample)
                    log(f"growth role {servers} servers {phase} #{rep + 1}: {sample['api_total']} API requests "
                        f"({sample['api_writes']} writes), {run.wall:.1f}s")
            finally:
                remove_release(bench.env, ns)
    return samples.summary()


def measure_site(bench: Bench, proxy: KubeProxy, suffix: str) -> dict:
    """site.yml on inventories/local with N Enterprise servers, Kubernetes through the counting proxy (the ARM
    double hands out the proxy's kubeconfig), ARM writes from the double's log."""
    from sections.azure import classify_arm  # pylint: disable=import-outside-toplevel
    samples = Samples([label(n) for n in SERVERS])
    with private_arm_double(bench.tmp / "arm-growth", str(proxy.kubeconfig)) as arm:
        for rep in range(bench.runs):
            for servers in SERVERS:
                arm.client.reset(state=True)
                ns = f"bench-gsite-{suffix}-{servers}-{rep}"
                extra = {"neo4j_namespace": ns, "validate_namespace": ns, "backup_namespace": ns,
                         "infra_backup_namespace": ns,
                         "infra_kubeconfig_path": str(bench.tmp / f"growth-{servers}-{rep}.kubeconfig"),
                         "infra_template_file": str(REPO / "roles/infra/files/bicep/main.json"),
                         **servers_vars(servers)}
                try:
                    for phase in ("first", "no-op"):
                        mark, since = proxy.mark(), arm.client.last_seq()
                        run = run_playbook(REPO / "playbooks/site.yml", env={**bench.env, **arm.env}, extra_vars=extra,
                                           inventory=str(REPO / "inventories/local"), timeout=1800).require_ok(
                            f"growth site {servers} {phase}")
                        time.sleep(0.2)
                        arm_counts = classify_arm(arm.client.requests(since))
                        sample = {"wall_s": run.wall, "tasks_s": sum(t.seconds for t in run.timed_tasks()),
                                  "changed_tasks": run.changed(None), "arm_requests": arm_counts["arm_total"],
                                  "arm_writes": arm_counts["writes"], **proxy.count(mark)}
                        samples.add(label(servers), phase, sample)
                        log(f"growth site {servers} servers {phase} #{rep + 1}: {sample['api_total']} API requests "
                            f"({sample['api_writes']} writes), {sample['arm_writes']} ARM writes, {run.wall:.1f}s")
                finally:
                    remove_release(bench.env, ns)
    return samples.summary()


class CountingClient:
    """The module's Neo4jClient, counting the Bolt queries a probe sends; SHOW DATABASES answers the real rows plus
    `extra` synthetic online databases (Community cannot create them)."""

    def __init__(self, params, extra: int, counter: list):
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import Neo4jClient
        self.inner = Neo4jClient(params)
        self.extra = extra
        self.counter = counter

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.inner.close()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def run(self, query, database=None, **kwargs):
        self.counter.append(query.split()[0] + " " + query.split()[1])
        rows = self.inner.run(query, database=database, **kwargs)
        if query.strip() == "SHOW DATABASES":
            template = next(r for r in rows if r.get("name") == "neo4j")
            rows = list(rows) + [{**template, "name": f"bench{i}", "default": False, "home": False, "aliases": []}
                                 for i in range(1, self.extra + 1)]
        return rows

    def session(self, *args, **kwargs):
        self.counter.append("session")
        return self.inner.session(*args, **kwargs)


def measure_health(bench: Bench) -> dict:
    # pylint: disable=import-outside-toplevel  # the collection's code, importable once .collections is on the path
    from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import connection_argument_spec
    from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j_health import HealthCheck, health_argument_spec
    env = bench.env
    params = {k: v.get("default") for k, v in {**connection_argument_spec(), **health_argument_spec()}.items()}
    params.update(uri=env["NEO4J_URI"], user="neo4j", password=env["NEO4J_PASSWORD"])
    out = {"module": [], **{f"{n} databases": [] for n in DATABASES}}
    for rep in range(bench.runs):
        run = run_playbook(PLAYBOOKS / "health.yml", env=env, extra_vars={
            "bench_neo4j_uri": env["NEO4J_URI"], "bench_neo4j_password": env["NEO4J_PASSWORD"],
            "bench_wait": False}, timeout=600).require_ok("growth health module")
        task = run.timed_task(HEALTH_TASK)
        out["module"].append({"task_s": task.seconds, "databases": len(task.result.get("databases") or []),
                              "edition": task.result.get("server", {}).get("edition")})
        for n in DATABASES:
            counter: list = []
            check = HealthCheck(params, client_factory=lambda p, n=n, c=counter: CountingClient(p, n - 1, c))
            started = time.perf_counter()
            report = check.run()
            seconds = time.perf_counter() - started
            out[f"{n} databases"].append({"probe_s": seconds, "queries": len(counter),
                                          "databases_seen": len(report["databases"]),
                                          "healthy": report["healthy"]})
        log(f"growth health #{rep + 1}: module {task.seconds:.2f}s; probes "
            + ", ".join(f"{n} dbs {out[f'{n} databases'][-1]['probe_s'] * 1000:.0f} ms" for n in DATABASES))
    return {k: summarize(v) for k, v in out.items()}


def growth_steps(stats: dict, labels: list, sizes: list, metric: str) -> list:
    """(from, to, size ratio, metric ratio) of consecutive sizes."""
    steps = []
    for (la, na), (lb, nb) in zip(zip(labels, sizes), list(zip(labels, sizes))[1:]):
        a, b = stats[la][metric]["median"], stats[lb][metric]["median"]
        steps.append((na, nb, nb / na, b / a if a else float("inf")))
    return steps


def measure(bench: Bench):
    suffix = secrets.token_hex(2)
    workdir = bench.tmp / "growth"
    workdir.mkdir(exist_ok=True)
    proxy = KubeProxy(workdir, bench.env)
    shim = HelmShim(workdir, bench.env.get("HELM_BIN", "helm"))
    try:
        yield "growth_health", measure_health(bench)
        yield "growth_role", measure_role(bench, proxy, shim, suffix)
        if not bench.quick:
            yield "growth_site", measure_site(bench, proxy, suffix)
    finally:
        proxy.stop()


def ratio(stats: dict, labels: list, metric: str) -> float:
    first, last = stats[labels[0]][metric]["median"], stats[labels[-1]][metric]["median"]
    return last / first if first else float("inf")


def servers_table(stats: dict, title: str, site: bool) -> list:
    rows = []
    time_key = "tasks_s" if site else "task_s"
    for key, st in stats.items():
        row = [key, fmt(st["api_total"]), fmt(st["api_writes"])]
        if site:
            row += [fmt(st["arm_requests"]), fmt(st["arm_writes"])]
        row += [fmt(st[time_key], digits=2), fmt(st["wall_s"], digits=2),
                fmt(st["changed_tasks"] if site else st["changed"])]
        rows.append(row)
    headers = (["servers / run", "Kubernetes API requests", "Kubernetes writes"]
               + (["ARM requests", "ARM writes"] if site else [])
               + ["task time s", "playbook wall s", "changed tasks" if site else "changed"])
    lines = [f"### {title}", ""] + table(headers, rows)
    for phase in ("first", "no-op"):
        labels = [f"{label(n)} / {phase}" for n in SERVERS]
        if all(lb in stats for lb in labels):
            requests = growth_steps(stats, labels, list(SERVERS), "api_total")
            times = growth_steps(stats, labels, list(SERVERS), time_key)
            lines += ["", f"{phase}: from 1 to 7 servers (x7) API requests x{ratio(stats, labels, 'api_total'):.2f}, "
                          f"time x{ratio(stats, labels, time_key):.2f}; per step: " + ", ".join(
                              f"{a}->{b} requests x{r:.2f} time x{t[3]:.2f}"
                              for (a, b, _s, r), t in zip(requests, times))]
    return lines + [""]


def milliseconds(stat: dict) -> dict:
    return {k: v * 1000 if k in ("median", "min", "max") else v for k, v in stat.items()}


def markdown(results: dict, meta: dict) -> list:  # pylint: disable=unused-argument
    lines = ["## 5. Growth", ""]
    if "growth_role" in results:
        lines += servers_table(results["growth_role"], "5a. neo4j role, Enterprise, 1/3/5/7 servers (kwok)", False)
    if "growth_site" in results:
        lines += servers_table(results["growth_site"], "5b. playbooks/site.yml, Enterprise, 1/3/5/7 servers (kwok)",
                               True)
    if "growth_health" in results:
        health = results["growth_health"]
        module = health["module"]
        lines += ["### 5c. neo4j_health and the number of databases", "",
                  f"The test environment's Neo4j is {fmt(module['edition'])} edition: one user database (plus "
                  f"`system`; the module saw {fmt(module['databases'])}), and CREATE DATABASE is Enterprise only. "
                  f"The module's task on it takes {fmt(module['task_s'], digits=3)} s. For 10 and 50 databases the "
                  "module's probe code (HealthCheck, in-process, no Ansible start-up) runs against the same real "
                  "server with synthetic online databases added to its SHOW DATABASES answer: the Bolt round trips "
                  "are real, the extra databases are not.", ""]
        rows = [[f"{n}", fmt(health[f"{n} databases"]["databases_seen"]),
                 fmt(health[f"{n} databases"]["queries"]),
                 fmt(milliseconds(health[f"{n} databases"]["probe_s"]), digits=1),
                 fmt(health[f"{n} databases"]["healthy"])] for n in DATABASES]
        lines += table(["databases", "rows seen (with system)", "Bolt queries + sessions per probe",
                        "probe time ms", "healthy"], rows)
        lines += ["", "Queries per probe do not depend on the number of databases (one SHOW DATABASES answers for "
                      "all; the latency samples run on the home database only).", ""]
    return lines


def panels(results: dict) -> list:
    out = []
    if "growth_role" in results:
        role = results["growth_role"]
        labels = [label(n) for n in SERVERS]
        out.append(Panel("neo4j role by servers (Enterprise, kwok)", labels,
                         [[role[f"{x} / {p}"]["api_total"] for x in labels] for p in ("first", "no-op")],
                         ["first run", "no-op"], "API requests"))
    return out


def servers_met(stats: dict, time_key: str) -> bool:
    """At most linear: from 1 to 7 servers, requests and time grow no more than 7x."""
    ok = True
    for phase in ("first", "no-op"):
        a, b = stats[f"{label(1)} / {phase}"], stats[f"{label(7)} / {phase}"]
        ok &= b["api_total"]["median"] <= 7 * a["api_total"]["median"]
        ok &= b[time_key]["median"] <= 7 * a[time_key]["median"]
    return ok


METHOD = """\
- Growth: the neo4j role (bench/playbooks/kube_role.yml) and site.yml on inventories/local with neo4j_edition
  enterprise and 1, 3, 5, 7 servers on the kwok nodes (local_real_node false; anti-affinity preferred, as the
  cluster has three Neo4j-pool nodes), a fresh namespace per size and repetition; Kubernetes requests through
  `kubectl proxy -v=6` (site.yml: the private ARM double hands out the proxy's kubeconfig). neo4j_health: see 5c."""

SECTION = Section(name="growth", needs=None, measure=measure, markdown=markdown, panels=panels,
                  method=METHOD, keys=("growth_health", "growth_role", "growth_site"))
