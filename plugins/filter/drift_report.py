# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The drift report of playbooks/drift.yml: what a check-mode run of the site would change, resource by
resource and property by property, from ARM's what-if (bicep_deployment), helm-diff (kubernetes.core.helm)
and the validate role's problems.

Documentation: drift_report.yml and drift_report_markdown.yml beside this file.
"""

from __future__ import annotations

import json
import re

import yaml
from ansible.errors import AnsibleFilterError

# What-if change types that are no drift: nothing would change, or what-if cannot tell (reported as notes).
ARM_QUIET = ("NoChange", "Ignore", "NoEffect")
HELM_HEADER = re.compile(r"^(?P<namespace>[^,\s]+), (?P<name>[^,\s]+), (?P<kind>[A-Za-z0-9]+)"
                         r"(?: \((?P<group>[^)]*)\))? (?P<verb>has changed|has been added|has been removed):\s*$")
HELM_VERBS = {"has changed": "Modify", "has been added": "Create", "has been removed": "Delete"}
_ABSENT = object()


def _value(body, path):
    """The value at a what-if property path (dots; digits index lists) in a resource body, or None."""
    node = body
    for step in [s for s in re.split(r"[.\[\]]", path or "") if s]:
        if isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        elif isinstance(node, dict) and step in node:
            node = node[step]
        else:
            return None
    return node


def _arm_entries(result):
    """(entries, notes) from a bicep_deployment result (check mode: what-if)."""
    if not result or result.get("skipped"):
        return [], []
    what_if = result.get("what_if") or {}
    notes = ["ARM what-if: %s %s" % (d.get("code", ""), d.get("message", "")) for d in what_if.get("diagnostics") or []]
    if not result.get("changed"):
        return [], notes
    bodies = {}
    for diff in result.get("diff") or []:
        if isinstance(diff, dict):
            rid = (diff.get("before_header") or "").rsplit(" (", 1)[0]
            bodies[rid.lower()] = (diff.get("before") or {}, diff.get("after") or {})
    entries = []
    if result.get("resource_group_created"):
        entries.append({"source": "arm", "resource": "resource group", "change": "Create", "properties": []})
    for change in what_if.get("changes") or []:
        kind = change.get("change_type")
        if kind in ARM_QUIET:
            continue
        if kind == "Unsupported":
            notes.append("ARM what-if cannot compare %s: %s" % (change.get("resource_id"),
                                                                change.get("unsupported_reason", "")))
            continue
        before, after = bodies.get((change.get("resource_id") or "").lower(), ({}, {}))
        props = [{"path": path, "live": _value(before, path), "desired": _value(after, path)}
                 for path in change.get("changed_paths") or []]
        entries.append({"source": "arm", "resource": change.get("resource_id"), "change": kind, "properties": props})
    return entries, notes


def _named(items):
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _compare(live, desired, path, out):
    """Leaf differences between two parsed manifests: dicts by key, lists of named items by name."""
    if isinstance(live, dict) and isinstance(desired, dict):
        for key in sorted(set(live) | set(desired), key=str):
            where = "%s.%s" % (path, key) if path else str(key)
            _compare(live.get(key, _ABSENT), desired.get(key, _ABSENT), where, out)
    elif isinstance(live, list) and isinstance(desired, list) and _named(live + desired):
        old, new = {i["name"]: i for i in live}, {i["name"]: i for i in desired}
        for name in list(old) + [n for n in new if n not in old]:
            _compare(old.get(name, _ABSENT), new.get(name, _ABSENT), "%s[%s]" % (path, name), out)
    elif isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        for index, (a, b) in enumerate(zip(live, desired)):
            _compare(a, b, "%s[%d]" % (path, index), out)
    elif live != desired:
        out.append({"path": path, "live": None if live is _ABSENT else live,
                    "desired": None if desired is _ABSENT else desired})


def _sides(lines):
    """The live (-) and desired (+) texts of one resource's diff lines (helm-diff and unified formats)."""
    live, desired, changed = [], [], []
    for line in lines:
        if line.startswith(("--- ", "+++ ", "@@")) or line in ("---", "+++"):
            continue
        marker, text = (line[0], line[1:]) if line[:1] in "+- " else (" ", line)
        if marker != "+":
            live.append(text)
        if marker != "-":
            desired.append(text)
        if marker != " " and text.strip():
            changed.append(line)
    return "\n".join(live), "\n".join(desired), changed


def _partial(lines):
    """Whether the diff shows only part of the resource (helm-diff --context N): several hunks, or one not at 1."""
    hunks = [line for line in lines if line.startswith("@@")]
    return len(hunks) > 1 or any(not re.match(r"@@ -[01](,\d+)? ", hunk) for hunk in hunks)


def _helm_properties(lines, change):
    live_text, desired_text, changed = _sides(lines)
    if _partial(lines):
        live_text = desired_text = ""
    try:
        live = yaml.safe_load(live_text) if change != "Create" else {}
        desired = yaml.safe_load(desired_text) if change != "Delete" else {}
    except yaml.YAMLError:
        live = desired = None
    if change != "Modify":
        return []
    if not isinstance(live, dict) or not isinstance(desired, dict):
        # Partial context (helm-diff --context N): the changed lines as they are.
        return [{"path": line[1:].strip(), "live": None, "desired": None} for line in changed]
    out = []
    _compare(live, desired, "", out)
    return out


def _helm_entries(result, release):
    if not result or result.get("skipped") or not result.get("changed"):
        return []
    prepared = (result.get("diff") or {}).get("prepared") if isinstance(result.get("diff"), dict) else None
    if not prepared:
        return [{"source": "helm", "resource": "release %s" % release, "change": "Modify", "properties": [],
                 "note": "the release would change; install helm-diff (3.4.1+) to see what"}]
    entries, current = [], None
    for line in prepared.splitlines():
        match = HELM_HEADER.match(line)
        if match:
            current = {"source": "helm", "kind": match["kind"], "namespace": match["namespace"],
                       "name": match["name"], "change": HELM_VERBS[match["verb"]], "lines": []}
            entries.append(current)
        elif current is not None:
            current["lines"].append(line)
    report = []
    for entry in entries:
        props = _helm_properties(entry.pop("lines"), entry["change"])
        if entry["change"] == "Modify" and not props:
            continue  # only formatting differs
        report.append({"source": "helm", "resource": "%s %s/%s" % (entry["kind"], entry["namespace"], entry["name"]),
                       "change": entry["change"], "properties": props})
    return report


def drift_report(checks, environment="", generated=""):
    """The report: {drift, count, summary, entries, notes, environment, generated}."""
    if not isinstance(checks, dict):
        raise AnsibleFilterError("drift_report expects a dict with the keys arm, helm, release, validate; got %s"
                                 % type(checks).__name__)
    unknown = set(checks) - {"arm", "helm", "release", "validate"}
    if unknown:
        raise AnsibleFilterError("drift_report: unknown keys %s (known: arm, helm, release, validate)"
                                 % ", ".join(sorted(unknown)))
    arm, notes = _arm_entries(checks.get("arm"))
    helm = _helm_entries(checks.get("helm"), checks.get("release") or "")
    validate = [{"source": "validate", "resource": "health", "change": "Unhealthy",
                 "properties": [{"path": "problem", "live": problem, "desired": None}]}
                for problem in checks.get("validate") or []]
    entries = arm + helm + validate
    return {"drift": bool(entries), "count": len(entries), "environment": environment, "generated": generated,
            "summary": {"arm": len(arm), "helm": len(helm), "validate": len(validate)},
            "entries": entries, "notes": notes}


def _cell(value):
    text = "(absent)" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "`%s`" % text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def drift_report_markdown(report):
    """The report as Markdown for people."""
    if not isinstance(report, dict) or "entries" not in report:
        raise AnsibleFilterError("drift_report_markdown expects the output of neo4j_azure.aks.drift_report")
    lines = ["# Drift report%s" % (": " + report["environment"] if report.get("environment") else ""), ""]
    if report.get("generated"):
        lines += ["Generated %s." % report["generated"], ""]
    if not report["entries"]:
        lines += ["**No drift**: Azure and Kubernetes match the inventory, and the health checks pass.", ""]
    else:
        summary = report["summary"]
        lines += ["**Drift found** in %d resource(s): %d Azure (ARM what-if), %d Kubernetes (helm-diff), "
                  "%d health check(s)." % (report["count"], summary["arm"], summary["helm"], summary["validate"]), ""]
        for entry in report["entries"]:
            lines += ["## %s: %s (%s)" % (entry["source"], entry["resource"], entry["change"]), ""]
            if entry.get("note"):
                lines += [entry["note"], ""]
            if entry["properties"]:
                lines += ["| property | live | inventory |", "|---|---|---|"]
                lines += ["| `%s` | %s | %s |" % (p["path"], _cell(p["live"]), _cell(p["desired"]))
                          for p in entry["properties"]]
                lines.append("")
    if report.get("notes"):
        lines += ["## Notes", ""] + ["- %s" % note for note in report["notes"]] + [""]
    return "\n".join(lines)


class FilterModule:
    """Drift report filters."""

    def filters(self):
        return {"drift_report": drift_report, "drift_report_markdown": drift_report_markdown}
