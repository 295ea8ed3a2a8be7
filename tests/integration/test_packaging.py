"""The collection as users get it: a galaxy tarball that installs into a clean collections path and whose
modules and roles run from there; the execution environment definition builds a context."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

from testenv_client import REPO, localhost_play, run_playbook

BIN = Path(sys.executable).parent


def run(cmd, cwd=REPO, env=None):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, env=env, check=False,
                          timeout=600)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_built_collection_installs_and_runs(tmp_path, testenv_for):
    env = testenv_for("neo4j")
    run([BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", tmp_path / "dist"])
    tarballs = list((tmp_path / "dist").glob("neo4j_azure-aks-*.tar.gz"))
    assert len(tarballs) == 1
    with tarfile.open(tarballs[0]) as tar:
        names = tar.getnames()
    assert "plugins/modules/bicep_deployment.py" in names
    assert "roles/neo4j/files/chart/Chart.yaml" in names
    assert "meta/runtime.yml" in names
    # Nothing of the developer's machine or the test environment ships.
    assert not [n for n in names if n.startswith((".venv", ".testenv", ".collections", ".build", "tests/output"))]

    collections = tmp_path / "collections"
    clean = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
             "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}
    run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", "-p", collections,
         tarballs[0]], cwd=tmp_path, env=clean)
    installed = collections / "ansible_collections" / "neo4j_azure" / "aks"
    assert (installed / "MANIFEST.json").exists()

    # ansible-doc and a module run from the installed copy (not the checkout).
    doc = run([BIN / "ansible-doc", "neo4j_azure.aks.neo4j_health"], cwd=tmp_path, env=clean)
    assert "neo4j_health" in doc
    play = localhost_play([{"name": "Check Neo4j health", "neo4j_azure.aks.neo4j_health": {
        "uri": env["NEO4J_URI"], "user": env["NEO4J_USERNAME"], "password": env["NEO4J_PASSWORD"]}}])
    result = run_playbook(play, env={**env, "ANSIBLE_COLLECTIONS_PATH": str(collections)},
                          extra_env={"ANSIBLE_COLLECTIONS_PATH": str(collections)})
    assert result.rc == 0, result
    assert result.changed() == 0


def test_execution_environment_definition_builds_a_context(tmp_path):
    context = tmp_path / "context"
    run([BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", context,
         "--output-filename", "Containerfile"], cwd=REPO / "extensions" / "ee")
    containerfile = (context / "Containerfile").read_text()
    assert "install-tools.sh" in containerfile
    requirements = (context / "_build" / "requirements.txt").read_text()
    for package in ("azure-identity", "azure-mgmt-resource-deployments", "neo4j", "azure-storage-blob"):
        assert package in requirements
