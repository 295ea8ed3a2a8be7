"""Section 1, Azure: the infra role, bicep_deployment alone and azure.azcollection's azure_rm_deployment, all
deploying roles/infra/files/bicep/main.json (main.bicep as the Bicep CLI compiles it, make bicep-build) with
inventories/local's parameters, on a private ARM test double
under two LRO timing profiles; requests counted from the double's request log."""

from __future__ import annotations

import re
import subprocess

from measure import AZCOLLECTION_VENV, BENCH, PLAYBOOKS, REPO, Bench, Samples, Section, log
from report import Panel, fmt, table
from testenv_client import private_arm_double, run_playbook

# The ARM double's "azure-like" profile: modelled LRO durations and Retry-After (15 s) times this scale. 1/15 makes
# the scaled Retry-After exactly 1 s (ARM sends whole seconds; the SDKs sleep Retry-After between polls), so the
# number of polls (duration / Retry-After) is the one the unscaled durations would give.
AZURE_LIKE_TIME_SCALE = 1 / 15
# --quick (the smoke test) only proves the profile runs and renders: ten times faster, at the price of poll counts
# (the scaled Retry-After would be 0.1 s; the double sends 1 s, so fewer polls than the unscaled clock gives).
QUICK_TIME_SCALE = 1 / 150
AZURE_KEYS = {"instant": "azure", "azure-like": "azure_like"}  # profile -> results key (old files: only "azure")
VARIANTS = {
    "infra role": (PLAYBOOKS / "azure_role.yml", "Deploy the resource group and the infrastructure template"),
    "bicep_deployment": (PLAYBOOKS / "azure_ours.yml", "Deploy with bicep_deployment"),
    "azure_rm_deployment": (PLAYBOOKS / "azure_azrm.yml", "Deploy with azure_rm_deployment"),
}


def classify_arm(entries: list) -> dict:
    """Counts by kind. writes = PUT/PATCH/DELETE and POST actions that change state; what-if, validate and the
    read-only list* actions (AKS credentials) are POSTs counted on their own."""
    out = {"arm_total": 0, "reads": 0, "writes": 0, "what_if": 0, "validate": 0, "post_read_actions": 0,
           "token": 0, "metadata": 0, "put": 0, "delete": 0, "polls": 0}
    for entry in entries:
        op, method = entry["operation"], entry["method"]
        if op == "TestEnv":  # the bench's own control calls
            continue
        if op.startswith("Entra_"):
            out["token"] += 1
            continue
        if op == "Metadata_Endpoints":
            out["metadata"] += 1
            continue
        out["arm_total"] += 1
        if method in ("GET", "HEAD"):
            out["reads"] += 1
            out["polls"] += op == "Operations_Poll"
        elif method == "POST" and op.startswith("Deployments_WhatIf"):
            out["what_if"] += 1
        elif method == "POST" and op.startswith("Deployments_Validate"):
            out["validate"] += 1
        elif method == "POST" and "_List" in op:
            out["post_read_actions"] += 1
        else:
            out["writes"] += 1
            out["put"] += method == "PUT"
            out["delete"] += method == "DELETE"
    out["all_requests"] = out["arm_total"] + out["token"] + out["metadata"]
    return out


def set_timing(client, profile: str, scale: float = AZURE_LIKE_TIME_SCALE) -> dict:
    """Switch the double's LRO timing profile (a reset turns it back to instant)."""
    if profile == "instant":
        return client.call("DELETE", "/_testenv/timing")
    return client.call("POST", "/_testenv/timing", {"profile": profile, "time_scale": scale})


def _noop_changes(result: dict) -> str:
    what_if = (result.get("what_if") or {}).get("changes") or []
    return "; ".join(f"{c.get('change_type')} {c.get('resource_id', '').rsplit('/providers/', 1)[-1]} "
                     f"{c.get('changed_paths')}" for c in what_if if c.get("change_type") != "NoChange")[:800]


def measure_profile(bench: Bench, profile: str, runs: int) -> dict:
    """Every variant's first run and no-op re-run, on a private double reset before each repetition."""
    params_file = bench.tmp / "infra-params.json"
    samples = Samples(VARIANTS)
    timing = {"profile": "instant"}
    with private_arm_double(bench.tmp / f"arm-{profile}", bench.env.get("KUBECONFIG", "")) as arm:
        env = {**bench.env, **arm.env}
        scale = QUICK_TIME_SCALE if bench.quick else AZURE_LIKE_TIME_SCALE
        for rep in range(runs):
            arm.client.reset(state=True)  # a clean Resource Manager for every repetition
            timing = set_timing(arm.client, profile, scale)
            for variant, (path, task_name) in VARIANTS.items():
                rg = f"bench-{re.sub('[^a-z]', '', variant)[:12]}-{rep}"
                extra = {"bench_resource_group": rg, "infra_template_file": str(REPO / "roles/infra/files/bicep/main.json"),
                         "infra_kubeconfig_path": str(bench.tmp / f"kubeconfig-{rg}"),
                         "bench_params_file": str(params_file), "bench_azure_auth": arm.auth,
                         "bench_azcollection_python": str(AZCOLLECTION_VENV / "bin" / "python"),
                         "bench_azshim_dir": str(BENCH / "azshim")}
                if variant == "infra role":
                    extra["infra_resource_group"] = rg
                for phase in ("first", "no-op"):
                    if variant == "infra role" and phase == "no-op":
                        extra["bench_params_file"] = ""
                    since = arm.client.last_seq()
                    run = run_playbook(path, env=env, extra_vars=extra, timeout=1800).require_ok(
                        f"azure {variant} {phase}")
                    task = run.timed_task(task_name)
                    sample = {"wall_s": run.wall, "task_s": task.seconds, "changed": task.changed}
                    if variant == "infra role":
                        role_tasks = [t for t in run.timed_tasks() if "/roles/infra/" in t.path]
                        sample["task_s"] = sum(t.seconds for t in role_tasks)
                        sample["changed"] = any(t.changed for t in role_tasks)
                    sample.update(classify_arm(arm.client.requests(since)))
                    if variant == "infra role":
                        sample["deploy_task_s"] = task.seconds
                        sample["deploy_changed"] = task.changed
                    if phase == "no-op" and task.changed:
                        sample["noop_changes"] = _noop_changes(task.result)
                        log(f"azure {variant} no-op changed: {sample['noop_changes'] or task.result.get('msg')}")
                    samples.add(variant, phase, sample)
                    log(f"azure[{profile}] {variant} {phase} #{rep + 1}: {sample['arm_total']} ARM requests, "
                        f"{sample['writes']} writes, {sample['what_if']} what-if, changed={sample['changed']}, "
                        f"{run.wall:.1f}s")
    result = samples.summary()
    ours, theirs = result["bicep_deployment / no-op"], result["azure_rm_deployment / no-op"]

    def ratio(metric):
        return theirs[metric]["median"] / ours[metric]["median"] if ours[metric]["median"] else None
    result["_target"] = {
        "noop_writes_ours": ours["writes"]["median"],
        "noop_writes_role": result["infra role / no-op"]["writes"]["median"],
        "ratio_arm": ratio("arm_total"), "ratio_all": ratio("all_requests"), "ratio_writes": ratio("writes"),
        "writes_theirs": theirs["writes"]["median"],
    }
    result["_timing"] = {k: v for k, v in timing.items() if k != "durations"} if timing else {"profile": "instant"}
    return result


def measure(bench: Bench):
    if not (AZCOLLECTION_VENV / "bin" / "python").exists():
        subprocess.run(["bash", str(BENCH / "setup.sh")], check=True)
    for profile, key in AZURE_KEYS.items():
        # azure-like LROs take seconds each (scaled minutes): one repetition is enough in --quick
        runs = 1 if bench.quick and profile != "instant" else bench.runs
        log(f"azure, ARM double timing profile {profile} ({runs} run(s))")
        yield key, measure_profile(bench, profile, runs)


# ---------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------

PROFILES_NOTE = (
    "Measured twice on the same private ARM double, which differ only in how long a long-running operation (LRO) "
    "stays Running. **instant**: the double's default, every deployment and what-if ends at its first poll. "
    "**azure-like**: the double keeps a deployment Running for the longest dependsOn chain of the resources it "
    "applies, with per-type durations of an *unchanged* re-PUT (managedClusters 240 s, Key Vault and storage 20 s, "
    "workspace 15 s, VNet 10 s, NSG, identities, role assignments, DCRs 5 s: **estimates**, see "
    "tests/testenv/arm_double/README.md; for this template: NSG 5 + VNet 10 + subnet role assignment 5 + AKS 240 + "
    "role assignment / federated credential / DCR association 5 = 265 s), a what-if Running for 15 s, and "
    "`Retry-After: 15` on every LRO response, all times the time scale. The clients' polls are real: the SDKs "
    "(azure-core's polling, both modules) poll once at once, then sleep Retry-After between polls, so polls = "
    "1 + ceil(duration / Retry-After) (what-if 2, this deployment 19) at any scale where the scaled Retry-After is a "
    "whole number of seconds (here 1 s). Request counts are measured; "
    "the durations behind them are modelled, so the azure-like ratio holds only as far as those durations do. "
    "Times (task, wall) under azure-like are scaled, not Azure's; the first-run rows use the same re-PUT "
    "durations (a real first deployment of AKS takes longer).")


def profile_table(az: dict, modelled: bool = False) -> list:
    rows = []
    for key, st in az.items():
        if key.startswith("_"):
            continue
        tok = {k: st["token"][k] + st["metadata"][k] for k in ("median", "min", "max")}
        rows.append([key, fmt(st["arm_total"]), fmt(st["reads"]), fmt(st["polls"]), fmt(st["writes"]),
                     fmt(st["what_if"]), fmt(st["validate"]), fmt(st["post_read_actions"]), fmt(tok),
                     fmt(st["task_s"], digits=2), fmt(st["wall_s"], digits=2), fmt(st["changed"])])
    lines = table(["module / run", "ARM requests", "reads (GET)", "of which LRO polls", "writes (PUT/DELETE/POST)",
                   "what-if", "validate", "list* POST", "token + metadata", "task time s", "playbook wall s",
                   "changed"], rows)
    tgt = az["_target"]
    ok_writes = tgt["noop_writes_ours"] == 0
    ok_ratio = (tgt["ratio_arm"] or 0) >= 5
    writes = tgt.get("writes_theirs", az["azure_rm_deployment / no-op"]["writes"]["median"])
    lines += ["", f"Target (no-op re-run): bicep_deployment writes = {tgt['noop_writes_ours']:g} vs "
                  f"azure_rm_deployment {writes:g} ({'met' if ok_writes else 'MISSED'}: writes ratio "
                  f"{'n/a, ours is 0' if ok_writes else format(tgt.get('ratio_writes') or 0, '.2f') + 'x'}); "
                  f"azure_rm_deployment / bicep_deployment ARM requests = {tgt['ratio_arm']:.2f}x "
                  f"({'met' if ok_ratio else 'MISSED: target >= 5x'}"
                  f"{', with modelled LRO durations' if modelled else ''}); counting token and metadata "
                  f"requests too: {tgt['ratio_all']:.2f}x."]
    rm = az["azure_rm_deployment / no-op"]
    if not modelled and not ok_ratio:
        lines += ["", f"Why the ratio is missed under this profile: azure_rm_deployment does not compare anything "
                      f"before writing, so its no-op re-run is GET resource group, PUT resource group, PUT "
                      f"deployment, then {fmt(rm['polls'])} poll(s) and a GET: {fmt(rm['arm_total'])} requests, "
                      f"{fmt(rm['writes'])} of them writes, and `changed` every time. The double completes a "
                      f"deployment at its first poll; on Azure the PUT re-applies every resource of the template and "
                      f"is polled until done. bicep_deployment's no-op is POST what-if, one poll, GET deployment "
                      f"(for its outputs; the resource group is read only when what-if says it is missing): fewer "
                      f"requests, no write."]
    if modelled:
        ours = az["bicep_deployment / no-op"]
        lines += ["", f"No-op re-run under this profile: azure_rm_deployment polls its deployment {fmt(rm['polls'])} "
                      f"times ({fmt(rm['arm_total'])} ARM requests, {fmt(rm['writes'])} writes); bicep_deployment "
                      f"polls its what-if {fmt(ours['polls'])} time(s) ({fmt(ours['arm_total'])} requests, "
                      f"{fmt(ours['writes'])} writes). The ratio follows the assumed durations: every further "
                      f"Retry-After interval (15 s modelled) of deployment time adds one poll to azure_rm_deployment's "
                      f"no-op and none to ours, so with these request shapes 5x needs azure_rm_deployment at >= 5 x "
                      f"{fmt(ours['arm_total'])} requests, i.e. an unchanged re-PUT longer than about 300 s with "
                      f"Retry-After 15 s; a shorter Retry-After raises the ratio, no Retry-After at all (azure-mgmt "
                      f"then polls every 30 s) lowers it. Poll counts can be one lower than on the unscaled clock "
                      f"when request latency adds up across polls (each poll lands latency later)."]
    lines.append("")
    return lines


def summary_table(results: dict) -> list:
    rows = []
    for profile, key in AZURE_KEYS.items():
        az = results[key]
        ours, theirs, tgt = az["bicep_deployment / no-op"], az["azure_rm_deployment / no-op"], az["_target"]
        writes_ratio = "inf (ours 0)" if not ours["writes"]["median"] else f"{tgt['ratio_writes']:.2f}x"
        rows.append([profile, fmt(ours["arm_total"]), fmt(theirs["arm_total"]), f"{tgt['ratio_arm']:.2f}x",
                     fmt(ours["writes"]), fmt(theirs["writes"]), writes_ratio,
                     f"{fmt(ours['polls'])} / {fmt(theirs['polls'])}"])
    return ["### 1c. No-op re-run, both profiles", ""] + table(
        ["profile", "bicep_deployment requests", "azure_rm_deployment requests", "requests ratio",
         "bicep_deployment writes", "azure_rm_deployment writes", "writes ratio", "polls (ours / theirs)"],
        rows) + [""]


def markdown(results: dict, meta: dict) -> list:  # pylint: disable=unused-argument
    if "azure" not in results:
        return []
    lines = ["## 1. Azure: infra template (roles/infra/files/bicep/main.json, inventories/local parameters)", ""]
    if "azure_like" in results:
        lines += [PROFILES_NOTE, "", "### 1a. ARM double timing profile \"instant\" (every long-running "
                  "operation ends at its first poll)", ""]
    lines += profile_table(results["azure"])
    if "azure_like" in results:
        t = results["azure_like"].get("_timing", {})
        lines += ["### 1b. ARM double timing profile \"azure-like\" (modelled LRO durations, time scale "
                  f"{t.get('time_scale', 0):.4g}, Retry-After {t.get('retry_after', 0):g} s scaled to "
                  f"{t.get('retry_after_sent', 0)} s; "
                  f"{results['azure_like']['bicep_deployment / no-op']['arm_total']['n']} run(s))", ""]
        if t.get("scale_invariant") is False:
            lines += [f"Time scale {t.get('time_scale', 0):.4g} (--quick) scales Retry-After below the 1 s the double "
                      "sends: poll counts and times here are lower than the unscaled clock would give. A smoke-test "
                      "run, not a measurement.", ""]
        lines += profile_table(results["azure_like"], modelled=True)
        lines += summary_table(results)
    return lines


def panels(results: dict) -> list:
    out = []
    labels = list(VARIANTS)
    for key in ("azure", "azure_like"):
        if key not in results:
            continue
        az = results[key]
        timing = (" (LRO timing: azure-like, modelled)" if key == "azure_like"
                  else " (LRO timing: instant)" if "azure_like" in results else "")
        out.append(Panel("Azure: requests per run" + timing, labels,
                         [[az[f"{v} / {p}"]["all_requests"] for v in labels] for p in ("first", "no-op")],
                         ["first run", "no-op re-run"], "requests to the ARM double (incl. token)", title_size=9))
    return out


METHOD = """\
- Azure: a private ARM test double (own port and state, reset before each repetition), reached by
  bicep_deployment through `endpoint_override` and by azure_rm_deployment through `cloud_environment` =
  the double's Resource Manager URL (its `/metadata/endpoints` document; `bench/azshim` supplies the
  `get_cloud_from_metadata_endpoint` function azure-cli-core no longer has) with the CA in REQUESTS_CA_BUNDLE.
  Requests are read from the double's request log. "writes" = PUT/PATCH/DELETE and state-changing POSTs;
  what-if, validate and the read-only `list*Credential` POSTs (aks_kubeconfig, infra role only) have their
  own columns. "infra role" rows are the whole role (bicep_deployment + aks_kubeconfig); its parameters are
  the ones both single-module rows deploy. "task time" is the task's duration from the json callback;
  "playbook wall" includes ansible-playbook start-up."""

SECTION = Section(name="azure", needs=("kube",), measure=measure, markdown=markdown, panels=panels,
                  method=METHOD, keys=tuple(AZURE_KEYS.values()))
