"""`helm diff upgrade RELEASE CHART [flags]` for the test environment (see ../plugin.yaml for why).

Same contract as helm-diff's default mode: compare the manifest helm would install (real
`helm upgrade --dry-run`) with the deployed release's manifest, resource by resource; print a unified
diff per changed resource; print nothing when nothing changes. `--detailed-exitcode` exits 2 on changes.

`--three-way-merge` (or HELM_DIFF_THREE_WAY_MERGE=true, as helm-diff reads it) compares with the live
objects instead (read with kubectl): each live object against itself with the chart's fields merged in
(lists of named items merged by name, as strategic merge does for containers, ports, env, volumes) and the
fields the release had but the chart dropped removed. So a field changed behind Helm's back shows as a change.
"""

import difflib
import json
import os
import re
import subprocess
import sys

# helm-diff flags that `helm upgrade` does not know: (name, takes_value).
DIFF_ONLY_FLAGS = {"--allow-unreleased": False, "--detailed-exitcode": False, "--three-way-merge": False,
                   "--normalize-manifests": False, "--include-tests": False, "--show-secrets": False,
                   "--strip-trailing-cr": False, "--suppress-secrets": False,
                   "-C": True, "--context": True, "--output": True, "--suppress": True, "--find-renames": True,
                   "--kube-version": True, "--api-versions": True, "-a": True}


def helm():
    return os.environ.get("HELM_BIN", "helm")


def split_resources(manifest: str) -> dict:
    """{'Kind/namespace/name': text} from a multi-document manifest."""
    resources = {}
    for doc in re.split(r"^---\s*$", manifest, flags=re.M):
        body = "\n".join(line for line in doc.strip().splitlines() if not line.startswith("# Source:")).strip()
        if not body:
            continue
        kind = re.search(r"^kind:\s*(\S+)", body, flags=re.M)
        name = re.search(r"^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*(\S+)", body + "\n", flags=re.M)
        namespace = re.search(r"^\s+namespace:\s*(\S+)", body, flags=re.M)
        key = "/".join([kind.group(1) if kind else "?", namespace.group(1) if namespace else "",
                        name.group(1).strip("\"'") if name else str(len(resources))])
        resources[key] = body + "\n"
    return resources


def parse(argv):
    if len(argv) < 3 or argv[0] != "upgrade":
        sys.exit("usage: helm diff upgrade RELEASE CHART [flags]  (only 'upgrade' is implemented here)")
    release, chart, flags = argv[1], argv[2], []
    # helm-diff's default context is -1: every line of a changed resource.
    detailed, context, i = False, -1, 3
    three_way = os.environ.get("HELM_DIFF_THREE_WAY_MERGE", "").lower() == "true"
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name in DIFF_ONLY_FLAGS:
            value = None
            if DIFF_ONLY_FLAGS[name] and "=" not in arg:
                i += 1
                value = argv[i]
            elif "=" in arg:
                value = arg.split("=", 1)[1]
            if name == "--detailed-exitcode":
                detailed = True
            if name == "--three-way-merge":
                three_way = value is None or value.lower() == "true"
            if name in ("-C", "--context"):
                context = int(value)
        else:
            flags.append(arg)
        i += 1
    return release, chart, flags, detailed, context, three_way


# Fields the apiserver owns: never in a chart, left as they are.
SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")


def merge(live, desired, original):
    """`live` with `desired` merged in; keys `original` had and `desired` dropped are removed."""
    if isinstance(live, dict) and isinstance(desired, dict):
        out = dict(live)
        for key, value in desired.items():
            out[key] = merge(live.get(key), value, (original or {}).get(key) if isinstance(original, dict) else None)
        for key in (original or {}) if isinstance(original, dict) else ():
            if key not in desired:
                out.pop(key, None)
        return out
    if isinstance(live, list) and isinstance(desired, list):
        if desired and all(isinstance(i, dict) and "name" in i for i in desired + live):
            by_name = {i["name"]: i for i in live}
            old = {i["name"]: i for i in original or [] if isinstance(i, dict) and "name" in i}
            return [merge(by_name.get(i["name"]), i, old.get(i["name"])) for i in desired]
        if len(live) == len(desired):
            olds = original if isinstance(original, list) and len(original) == len(desired) else [None] * len(desired)
            return [merge(a, b, c) for a, b, c in zip(live, desired, olds)]
    if live is not None and str(live) == str(desired) and not isinstance(desired, (dict, list)):
        return live  # the apiserver's spelling of the same scalar (1 vs "1")
    return desired


def to_yaml(obj) -> str:
    import yaml  # pylint: disable=import-outside-toplevel
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)


def live_view(obj):
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in SERVER_FIELDS}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def three_way(before_manifest: str, after_manifest: str, ns_args) -> tuple:
    """({key: yaml of the live object}, {key: yaml of the live object after the upgrade}) per desired resource."""
    import yaml  # pylint: disable=import-outside-toplevel
    kubectl = os.environ.get("KUBECTL_BIN", "kubectl")
    originals = {key: yaml.safe_load(text) for key, text in split_resources(before_manifest).items()}
    before, after = {}, {}
    for key, text in split_resources(after_manifest).items():
        desired = yaml.safe_load(text)
        rc, out, err = run([kubectl, "get", "-f", "-", "-o", "json", "--ignore-not-found", *ns_args], text)
        if rc != 0:
            raise SystemExit(f"kubectl get {key}: {err}")
        live = json.loads(out) if out.strip() else None
        if live and live.get("kind") == "List":  # `get -f` answers a List of the objects it found
            live = (live.get("items") or [None])[0]
        if live is None:
            before[key], after[key] = "", to_yaml(desired)
            continue
        view = live_view(live)
        before[key], after[key] = to_yaml(view), to_yaml(merge(view, desired, originals.get(key)))
    for key in set(originals) - set(after):
        before[key], after[key] = to_yaml(originals[key]), ""
    return before, after


def run(cmd, stdin=None):
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def main(argv):
    release, chart, flags, detailed, context, merge_live = parse(argv)
    namespace = os.environ.get("HELM_NAMESPACE")
    ns_args = ["--namespace", namespace] if namespace and not any(
        f in ("-n", "--namespace") or f.startswith("--namespace=") for f in flags) else []
    rc, current, err = run([helm(), "get", "manifest", release, *ns_args])
    if rc != 0:
        if "not found" not in err:
            sys.stderr.write(err)
            return 1
        current = ""
    rc, out, err = run([helm(), "upgrade", release, chart, "--install", "--dry-run", "--output", "json",
                        *ns_args, *flags])
    if rc != 0:
        sys.stderr.write(err)
        return 1
    desired = json.loads(out).get("manifest", "")
    if merge_live:
        before, after = three_way(current, desired, ns_args)
    else:
        before, after = split_resources(current), split_resources(desired)
    changed = False
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, ""), after.get(key, "")
        if old == new:
            continue
        changed = True
        kind, ns, name = key.split("/", 2)
        verb = "has been added" if not old else "has been removed" if not new else "has changed"
        sys.stdout.write(f"{ns or namespace or 'default'}, {name}, {kind} {verb}:\n")
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                   n=context if context >= 0 else 1 << 20))
        sys.stdout.write("\n")
    return 2 if (changed and detailed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
