"""Section 4, site.yml: `playbooks/site.yml -i inventories/local`, first run and no-op, wall time, each role's
share of the task time, and the write requests it sends to ARM (the double's log) and to Kubernetes (through
`kubectl proxy -v=6`: the private ARM double hands out the proxy's kubeconfig). A private ARM double and a fresh
namespace per repetition."""

from __future__ import annotations

import re
import secrets
import time

from measure import REPO, Bench, Section, log, summarize
from report import Panel, fmt, table
from sections.azure import classify_arm
from sections.kube import KubeProxy, remove_release
from testenv_client import private_arm_double, run_playbook

PHASES = ("first", "no-op")


def role_of(path: str) -> str:
    found = re.search(r"/roles/([^/]+)/", path)
    return found.group(1) if found else "(playbook)"


def measure(bench: Bench):
    samples = {p: [] for p in PHASES}
    shares = {p: [] for p in PHASES}
    outcome = {p: [] for p in PHASES}
    suffix = secrets.token_hex(2)
    (bench.tmp / "site-proxy").mkdir(exist_ok=True)
    proxy = KubeProxy(bench.tmp / "site-proxy", bench.env)
    try:
        yield from _measure(bench, proxy, samples, shares, outcome, suffix)
    finally:
        proxy.stop()


def _measure(bench: Bench, proxy: KubeProxy, samples: dict, shares: dict, outcome: dict, suffix: str):
    with private_arm_double(bench.tmp / "arm-site", str(proxy.kubeconfig)) as arm:
        for rep in range(bench.runs):
            arm.client.reset(state=True)
            ns = f"bench-site-{suffix}-{rep}"
            extra = {"neo4j_namespace": ns, "validate_namespace": ns, "backup_namespace": ns,
                     "infra_backup_namespace": ns, "infra_kubeconfig_path": str(bench.tmp / f"site-{rep}.kubeconfig"),
                     "infra_template_file": str(REPO / "roles/infra/files/bicep/main.json"),
                     "local_real_node": False}  # the kwok nodes, as the kube section and the 2026-11-25 baseline
            for phase in PHASES:
                mark, since = proxy.mark(), arm.client.last_seq()
                run = run_playbook(REPO / "playbooks/site.yml", env={**bench.env, **arm.env}, extra_vars=extra,
                                   inventory=str(REPO / "inventories/local"), timeout=1800)
                tasks = run.timed_tasks()
                by_role: dict = {}
                for task in tasks:
                    by_role[role_of(task.path)] = by_role.get(role_of(task.path), 0.0) + task.seconds
                total = sum(by_role.values()) or 1.0
                failed = [t for t in tasks if t.failed and not t.result.get("ignore_errors")]
                time.sleep(0.2)  # let the proxy flush its last log line
                kube = proxy.count(mark)
                arm_counts = classify_arm(arm.client.requests(since))
                samples[phase].append({"wall_s": run.wall, "tasks_s": total, "changed_tasks": run.changed(None),
                                       "rc": run.rc, "api_total": kube["api_total"], "api_writes": kube["api_writes"],
                                       "api_write_requests": kube["api_write_requests"],
                                       "arm_requests": arm_counts["arm_total"], "arm_writes": arm_counts["writes"],
                                       **{f"role_s:{k}": v for k, v in by_role.items()}})
                shares[phase].append({k: v / total for k, v in by_role.items()})
                outcome[phase].append({"rc": run.rc, "failed_task": failed[0].name if failed else None,
                                       "message": run.failure()[:400] if run.rc else ""})
                log(f"site {phase} #{rep + 1}: rc={run.rc} {run.wall:.1f}s changed={run.changed(None)} "
                    f"{kube['api_writes']} Kubernetes writes, {arm_counts['writes']} ARM writes "
                    f"{'failed at ' + failed[0].name if failed else ''}")
            remove_release(bench.env, ns)
    yield "site", {p: {"stats": summarize(samples[p]), "share": summarize(shares[p]), "outcome": outcome[p]}
                   for p in PHASES}


def markdown(results: dict, meta: dict) -> list:  # pylint: disable=unused-argument
    site = results["site"]
    rows = []
    for phase, res in site.items():
        st, share = res["stats"], res["share"]
        shares = ", ".join(f"{k} {share[k]['median'] * 100:.0f}%" for k in
                           sorted(share, key=lambda k: -share[k]["median"]))
        rows.append([phase, fmt(st["rc"]), fmt(st["wall_s"], digits=1), fmt(st["tasks_s"], digits=1),
                     fmt(st["changed_tasks"]), fmt(st.get("arm_requests")), fmt(st.get("arm_writes")),
                     fmt(st.get("api_total")), fmt(st.get("api_writes")), shares])
    lines = ["## 4. playbooks/site.yml on inventories/local", ""]
    lines += table(["run", "exit code", "playbook wall s", "sum of task times s", "changed", "ARM requests",
                    "ARM writes", "Kubernetes API requests", "Kubernetes writes", "share of task time per role"], rows)
    noop_writes = site["no-op"]["stats"].get("api_write_requests")
    if noop_writes:
        lines += ["", f"Kubernetes writes of the no-op run: {fmt(noop_writes) or 'none'}"]
    fails = {(o["failed_task"], o["message"][:200]) for res in site.values() for o in res["outcome"] if o["rc"]}
    if fails:
        lines += ["", "site.yml did not complete: " + "; ".join(f"`{t}`: {m}" for t, m in fails)]
    lines.append("")
    return lines


def panels(results: dict) -> list:
    site = results["site"]
    return [Panel("site.yml on inventories/local", list(PHASES), [[site[p]["stats"]["wall_s"] for p in PHASES]],
                  ["wall"], "seconds")]


METHOD = """\
- site.yml: inventories/local against a private ARM double (fresh per repetition) and a fresh namespace per
  repetition; role share = sum of the role's task durations / sum of all task durations (json callback); ARM
  requests from the double's log, Kubernetes requests through `kubectl proxy -v=6` (the double's AKS credentials
  are the proxy's kubeconfig)."""

SECTION = Section(name="site", needs=None, measure=measure, markdown=markdown, panels=panels, method=METHOD)
