"""The cost of a run: neo4j_azure.aks against the modules a user would otherwise pick, on the local test
environment (see bench/README.md).

    .venv/bin/python bench/run.py                 # everything, 5 runs per figure (make bench)
    .venv/bin/python bench/run.py --runs 3 --sections azure,kube
    .venv/bin/python bench/run.py --runs 1 --quick --out /tmp/bench   # a fast subset (smoke test)

Sections (bench/sections/): azure (bicep_deployment / infra role vs azure_rm_deployment on a private ARM double),
kube (neo4j role vs a plain kubernetes.core.helm task, through a counting kubectl proxy and helm shim), health
(neo4j_health detection delay on a private Neo4j, and the cost of one check), site (playbooks/site.yml on
inventories/local, first run and no-op, share of each role), growth (the neo4j role and site.yml over 1/3/5/7
Enterprise servers, neo4j_health over 1/10/50 databases), retention (backup_retention over 100/1,000/10,000 backups
in Azurite), and targets (issue 16's targets judged from the others). Each figure is the median of --runs runs, with
min and max. Writes <out>/<date>.md, <out>/<date>.png and <out>/<date>.json (raw, git-ignored).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from measure import BENCH, Bench, load_average, log, machine
from report import chart, document
from sections import QUICK, RUN_ORDER, SECTIONS
from testenv_client import bring_up


def write_report(results: dict, meta: dict, base: Path) -> str:
    """<base>.md and, when anything was measured, <base>.png; returns the Markdown."""
    text = document(results, meta, list(SECTIONS.values()))
    base.with_suffix(".md").write_text(text)
    if results:
        chart(results, base.with_suffix(".png"), meta, list(SECTIONS.values()))
    return text


def measure_sections(names: list, bench: Bench, meta: dict, partial: Path | None = None) -> dict:
    """Run each section; a failed section is named in meta["errors"] and the others still run. After each section
    the raw results so far go to `partial` (an interrupted run keeps what it measured: `--report-only` renders it)."""
    results: dict = {}
    for name in names:
        log(f"section {name} ({bench.runs} run(s))")
        started = time.perf_counter()
        try:
            for key, data in SECTIONS[name].measure(bench):
                results[key] = data
        except Exception as err:  # pylint: disable=broad-except  # report what ran, say what did not
            log(f"section {name} failed: {err}")
            meta.setdefault("errors", {})[name] = str(err)[:2000]
        meta.setdefault("section_seconds", {})[name] = round(time.perf_counter() - started, 1)
        meta.setdefault("section_load", {})[name] = load_average()
        if partial is not None:
            partial.write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="repetitions per figure (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help=f"only {', '.join(QUICK)} (health: one check, no detection delay; azure-like "
                             "timing: 1 run): about 3 minutes")
    parser.add_argument("--sections", default="", help=f"comma-separated subset of {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(BENCH / "results"), help="results directory (default bench/results)")
    parser.add_argument("--report-only", metavar="JSON", help="rewrite the .md and .png from a raw results file")
    args = parser.parse_args(argv)
    if args.report_only:
        raw = json.loads(Path(args.report_only).read_text())
        print(write_report(raw["results"], raw["meta"], Path(args.report_only).with_suffix("")))
        return 0
    names = [s for s in args.sections.split(",") if s] or list(QUICK if args.quick else RUN_ORDER)
    unknown = set(names) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    needs = [SECTIONS[name].needs for name in names]
    components = () if None in needs else tuple(sorted(set().union(*needs)))
    env = {k: str(v) for k, v in bring_up(components).items()}
    os.environ.update({k: v for k, v in env.items() if k in ("HELM_BIN", "KUBECTL_BIN", "NEO4J_VERSION")})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    date = datetime.date.today().isoformat()
    meta = {"date": date, "runs": args.runs, "quick": args.quick, "sections": names, "machine": machine(),
            "started": datetime.datetime.now().isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmpdir:
        partial = out / f"{date}.partial.json"
        results = measure_sections(names, Bench(env, args.runs, Path(tmpdir), args.quick), meta, partial)
    partial.unlink(missing_ok=True)
    meta["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    meta["load_average_end"] = load_average()
    text = write_report(results, meta, out / date)
    (out / f"{date}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    print(text)
    log(f"wrote {out / (date + '.md')}, {out / (date + '.png')}, {out / (date + '.json')}")
    return 1 if meta.get("errors") and not results else 0


if __name__ == "__main__":
    sys.exit(main())
