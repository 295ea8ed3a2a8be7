"""The ARM double's template evaluator against Microsoft's own engine: `bicep snapshot` evaluates a deployment
offline (predictedResources, outputs) with the template engine ARM runs. Runs in-process (the double's deployment
engine, no HTTP).

The per-environment comparison reads what `make bicep` commits: main.json and each environment's snapshot. Their
freshness is tested where they are made (tests/integration/roles/test_infra_templates.py: the JSON equals a fresh
compile, each snapshot validates against a fresh `bicep snapshot`), so the CLI's slow compile and snapshot run once
per suite, not twice. The hash test runs the CLI itself and skips without one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from testenv.arm_double.arm_hash import guid, unique_string
from testenv.arm_double.double import Double

try:
    from testenv.bicep_cli import bicep_env, find_bicep
except ImportError:  # the test environment's CLI lookup is optional here: fall back to PATH
    def find_bicep():
        found = shutil.which("bicep")
        return Path(found) if found else None

    def bicep_env():
        return {"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"}

REPO = Path(__file__).resolve().parents[2]
MAIN_JSON = REPO / "roles" / "infra" / "files" / "bicep" / "main.json"
ENVIRONMENTS = REPO / "roles" / "infra" / "files" / "environments"
SUBSCRIPTION_ID = "3f2c6a8e-0d4b-4e1a-9c55-7a1b2c3d4e5f"
TENANT_ID = "b7e1d2c3-4f5a-4b6c-8d9e-0a1b2c3d4e5f"
RESOURCE_GROUP, LOCATION, DEPLOYMENT = "rg-snapshot", "westeurope", "infra"
# The scope `make bicep` snapshots the environments at (Makefile bicep-snapshots, compose.yml).
COMMITTED_SCOPE = {"subscription_id": "00000000-0000-0000-0000-000000000000",
                   "tenant_id": "00000000-0000-0000-0000-000000000000", "location": "westeurope",
                   "deployment": "neo4j-infra"}
# Inputs for uniqueString()/guid(): every tail length of the 8-byte blocks, several arguments, non-ASCII text.
HASH_INPUTS = [[""], ["a"], ["ab"], ["abc"], ["abcd"], ["abcde"], ["abcdef"], ["abcdefg"], ["abcdefgh"],
               ["abcdefghi"], ["abcdefghijklmnopq"], ["neo4j", "dev"], ["x", "", "y"], ["Grüße", "東京"],
               [f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"],
               [f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}", "neo4j", "backup"]]


@pytest.fixture(scope="module")
def bicep():
    path = find_bicep()
    if path is None:
        pytest.skip("no Bicep CLI (set BICEP_BIN or put bicep on PATH): Microsoft's engine cannot run here")
    environ = {**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1", **bicep_env()}

    def run(*args, cwd=None) -> str:
        proc = subprocess.run([str(path), *map(str, args)], capture_output=True, text=True, env=environ, cwd=cwd,
                              check=False, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout
    return run


def snapshot(bicep, bicepparam: Path) -> dict:
    """`bicep snapshot` of a .bicepparam: the file it writes beside it, read back."""
    bicep("snapshot", bicepparam, "--mode", "overwrite", "--subscription-id", SUBSCRIPTION_ID, "--tenant-id",
          TENANT_ID, "--resource-group", RESOURCE_GROUP, "--location", LOCATION, "--deployment-name", DEPLOYMENT)
    return json.loads(bicepparam.with_suffix(".snapshot.json").read_text())


def double_deploys(template: dict, parameters: dict, scope: dict | None = None) -> tuple:
    """What the double stores (the bodies ARM is sent for each resource) for an Incremental deployment, and
    its what-if of the same deployment run again."""
    scope = scope or {"subscription_id": SUBSCRIPTION_ID, "tenant_id": TENANT_ID, "resource_group": RESOURCE_GROUP,
                      "location": LOCATION, "deployment": DEPLOYMENT}
    subscription, group, location = scope["subscription_id"], scope["resource_group"], scope["location"]
    double = Double({"subscription_id": subscription, "tenant_id": scope["tenant_id"]})
    double.resource_groups[group.lower()] = {
        "id": f"/subscriptions/{subscription}/resourceGroups/{group}", "name": group,
        "type": "Microsoft.Resources/resourceGroups", "location": location, "tags": {},
        "properties": {"provisioningState": "Succeeded"}}
    request = {"template": template, "mode": "Incremental",
               "parameters": {k: {"value": v} for k, v in parameters.items()}}
    double.apply(group, scope["deployment"], request, location)
    rerun = double.what_if(group, scope["deployment"], request, location)
    return {key: rec["requested"] for key, rec in double.resources.items()}, rerun


def runtime_only(value) -> bool:
    """A value the snapshot leaves unevaluated (known only during a deployment): its expression text."""
    return isinstance(value, str) and value.startswith("[") and value.endswith("]")


def differences(ours, theirs, path: str) -> list:
    if runtime_only(theirs):
        return []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = []
        for key in sorted(set(ours) | set(theirs)):
            if key not in ours:
                out.append(f"{path}.{key}: only in the snapshot")
            elif key not in theirs:
                out.append(f"{path}.{key}: only in the double")
            else:
                out.extend(differences(ours[key], theirs[key], f"{path}.{key}"))
        return out
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [d for i, (a, b) in enumerate(zip(ours, theirs)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if ours == theirs else [f"{path}: double {ours!r} != snapshot {theirs!r}"]


def environments() -> list:
    """(name, composed parameters, committed snapshot) per inventory (roles/infra/files/environments)."""
    found = sorted(ENVIRONMENTS.glob("*.parameters.json"))
    out = []
    for path in found:
        name = path.name.split(".")[0]
        snap = ENVIRONMENTS / f"{name}.snapshot.json"
        out.append(pytest.param(name, json.loads(path.read_text()),
                                json.loads(snap.read_text()) if snap.exists() else None, id=name))
    return out or [pytest.param(None, None, None,
                                marks=pytest.mark.skip(reason=f"no composed parameters in {ENVIRONMENTS}"))]


@pytest.fixture(scope="module")
def main_template():
    return json.loads(MAIN_JSON.read_text())


@pytest.mark.parametrize("name,parameters,snap", environments())
def test_double_evaluates_main_bicep_as_bicep_snapshot(main_template, name, parameters, snap):
    """Every resource the snapshot predicts, with the same id and body, and nothing else; values the snapshot
    cannot know offline ([reference(...)], ids built from environment()) are left out of the comparison. Then a
    no-op what-if of the same deployment: every resource once, NoChange, no module short-circuited."""
    assert snap is not None, f"{name}: no committed snapshot: run `make bicep-snapshots`"
    started = time.monotonic()
    predicted = snap["predictedResources"]
    ours, rerun = double_deploys(main_template, parameters,
                                 {**COMMITTED_SCOPE, "resource_group": f"neo4j-{name}-rg"})
    theirs = {r["id"].lower(): r for r in predicted if not runtime_only(r["id"])}
    unnamed = sorted(r["type"].lower() for r in predicted if runtime_only(r["id"]))
    assert sorted(ours[k]["type"].lower() for k in set(ours) - set(theirs)) == unnamed
    assert not set(theirs) - set(ours), "the snapshot predicts resources the double does not deploy"
    problems = [d for key in sorted(theirs) for d in differences(ours[key], theirs[key], ours[key]["name"])]
    assert not problems, "\n".join(problems)
    # The re-run's what-if sees every module (no short-circuit) and lists each resource once, unchanged.
    assert not rerun.get("diagnostics"), rerun.get("diagnostics")
    assert sorted(c["resourceId"].lower() for c in rerun["changes"]) == sorted(ours)
    assert {c["changeType"] for c in rerun["changes"]} == {"NoChange"}
    print(f"{len(predicted)} resources equal to bicep snapshot in {time.monotonic() - started:.1f}s")


def test_unique_string_and_guid_are_arms(bicep, tmp_path):
    """The double's uniqueString() and guid() give the values ARM's engine gives."""
    source = ["targetScope = 'resourceGroup'"]
    for i, args in enumerate(HASH_INPUTS):
        quoted = ", ".join("'" + a.replace("'", "\\'") + "'" for a in args)
        source += [f"output u{i} string = uniqueString({quoted})", f"output g{i} string = guid({quoted})"]
    (tmp_path / "hashes.bicep").write_text("\n".join(source) + "\n", encoding="utf-8")
    (tmp_path / "hashes.bicepparam").write_text("using 'hashes.bicep'\n")
    outputs = snapshot(bicep, tmp_path / "hashes.bicepparam")["outputs"]
    for i, args in enumerate(HASH_INPUTS):
        assert unique_string(*args) == outputs[f"u{i}"], args
        assert guid(*args) == outputs[f"g{i}"], args
