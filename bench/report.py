"""The bench's report: cell formatting, Markdown tables, the results document (<date>.md) and its chart
(<date>.png). Each section renders its own tables with these helpers; this module puts them together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def fmt(stat: dict | None, unit: str = "", digits: int = 1) -> str:
    """A summarized metric as "median (min–max)", "yes"/"no" for flags, "n/a" when missing."""
    if not stat:
        return "n/a"
    if "values" in stat:
        vals = stat["values"]
        if all(isinstance(v, bool) for v in vals):
            return "yes" if all(vals) else ("no" if not any(vals) else f"{sum(vals)}/{len(vals)} yes")
        return ", ".join(sorted({str(v) for v in vals}))

    def num(x):
        return f"{int(x)}" if float(x).is_integer() else f"{x:.{digits}f}"
    if stat["min"] == stat["max"]:
        return f"{num(stat['median'])}{unit}"
    return f"{num(stat['median'])}{unit} ({num(stat['min'])}–{num(stat['max'])})"


def table(headers: list, rows: list) -> list:
    """A Markdown table: one header row, one line a row (cells already formatted)."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + \
        ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


@dataclass
class Panel:
    """One chart panel: bars per label, one series each (values are summarized stats: median, min, max)."""

    title: str
    labels: list
    series: list
    names: list
    ylabel: str
    title_size: int | None = None


def document(results: dict, meta: dict, sections: list) -> str:
    """The whole <date>.md: header, machine, each section that has results, method, failed sections."""
    lines = [f"# Benchmark {meta['date']}", "",
             f"`bench/run.py --runs {meta['runs']}{' --quick' if meta['quick'] else ''}` on the local test "
             f"environment. Each cell: median (min–max) of {meta['runs']} run(s). Sections: "
             f"{', '.join(meta['sections'])}.", ""]
    for note in meta.get("notes", []):  # e.g. a section re-measured later and merged into the results file
        lines += [note, ""]
    m = meta["machine"]
    lines += ["## Machine", "",
              f"- {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, {m['os']}, shared with other "
              "jobs while measuring",
              f"- Python {m['python']}, {' '.join(m['ansible_core'])}, azure.azcollection {m['azcollection']} "
              f"(azure-mgmt-resource {m['azure_mgmt_resource']}), helm {m['helm']}, Neo4j {m['neo4j']}"]
    if m.get("load_average"):
        lines.append(f"- load average (1, 5, 15 min) at the start {', '.join(str(x) for x in m['load_average'])}"
                     + (f", at the end {', '.join(str(x) for x in meta['load_average_end'])}"
                        if meta.get("load_average_end") else "")
                     + ("; 1-min load at the end of each section: "
                        + "; ".join(f"{k} {v[0]}" for k, v in meta["section_load"].items())
                        if meta.get("section_load") else ""))
    lines.append("")
    for section in sections:
        if any(key in results for key in section.result_keys):
            lines += section.markdown(results, meta)
    lines += ["## How it was measured", "", "\n".join(s.method for s in sections if s.method), NO_TIMING_ASSERTED, ""]
    return "\n".join(lines) + errors(meta)


NO_TIMING_ASSERTED = """\
- No timing is asserted anywhere; the smoke test (tests/harness/test_bench_smoke.py) only checks that
  `--runs 1 --quick` produces a table."""


def errors(meta: dict) -> str:
    if not meta.get("errors"):
        return ""
    return "\n## Sections that failed\n\n" + "\n".join(
        f"- {k}: {v.splitlines()[0][:500] if v else ''}" for k, v in meta["errors"].items()) + "\n"


def chart(results: dict, path: Path, meta: dict, sections: list) -> None:
    """<date>.png: the sections' panels side by side (median bars, min-max whiskers)."""
    panels = [panel for section in sections if any(key in results for key in section.result_keys)
              for panel in section.panels(results)]
    if not panels:
        return
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        _bars(ax, panel)
    fig.suptitle(f"neo4j_azure.aks bench {meta['date']} (median, whiskers min-max, {meta['runs']} runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax, panel: Panel) -> None:
    width = 0.8 / len(panel.series)
    for i, (values, name) in enumerate(zip(panel.series, panel.names)):
        xs = [j + i * width for j in range(len(panel.labels))]
        med = [v["median"] for v in values]
        err = [[v["median"] - v["min"] for v in values], [v["max"] - v["median"] for v in values]]
        bars = ax.bar(xs, med, width, yerr=err, capsize=3, label=name)
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
    ax.set_xticks([j + width * (len(panel.series) - 1) / 2 for j in range(len(panel.labels))])
    ax.set_xticklabels(panel.labels, rotation=15, fontsize=8)
    ax.set_ylabel(panel.ylabel)
    ax.set_title(panel.title, **({"fontsize": panel.title_size} if panel.title_size else {}))
    if len(panel.series) > 1:
        ax.legend(fontsize=8)
