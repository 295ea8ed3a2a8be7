"""`helm diff upgrade RELEASE CHART [flags]` for the test environment (see ../plugin.yaml for why).

Same contract as helm-diff's default mode: compare the manifest helm would install (real
`helm upgrade --dry-run`) with the deployed release's manifest, resource by resource; print a unified
diff per changed resource; print nothing when nothing changes. `--detailed-exitcode` exits 2 on changes.
"""

import difflib
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
    detailed, context, i = False, 3, 3
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
            if name in ("-C", "--context"):
                context = int(value)
        else:
            flags.append(arg)
        i += 1
    return release, chart, flags, detailed, context


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def main(argv):
    release, chart, flags, detailed, context = parse(argv)
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
    import json  # pylint: disable=import-outside-toplevel
    desired = json.loads(out).get("manifest", "")
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
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), n=context))
        sys.stdout.write("\n")
    return 2 if (changed and detailed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
