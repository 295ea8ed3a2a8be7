"""Test wiring shared by unit and integration tests.

- Makes the collection importable as ansible_collections.neo4j_azure.aks (via .collections/, a link to the
  checkout that `make setup` also creates).
- `testenv` / `testenv_for(...)`: the local test environment, brought up once per session (or reused when
  already running) by tests/testenv/testenv.py; yields its env variables.
- Marks every test under tests/unit as `unit`, under tests/integration as `integration` (the product against the
  test environment: modules/, roles/, playbooks/) and under tests/harness as `harness` (the test environment
  and the bench themselves).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO / ".collections"


def ensure_collection_link() -> Path:
    link = COLLECTIONS / "ansible_collections" / "neo4j_azure" / "aks"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO, target_is_directory=True)
    return link


ensure_collection_link()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


def pytest_collection_modifyitems(items):
    for item in items:
        path = Path(str(item.fspath))
        if "unit" in path.parts:
            item.add_marker(pytest.mark.unit)
        elif "integration" in path.parts:
            item.add_marker(pytest.mark.integration)
        elif "harness" in path.parts:
            item.add_marker(pytest.mark.harness)


@pytest.fixture(scope="session")
def testenv_for():
    """testenv_for("kube", "neo4j") -> env dict with those components up (started once, reused)."""
    from testenv_client import bring_up  # pylint: disable=import-outside-toplevel

    def _get(*components: str) -> dict:
        return bring_up(components)

    return _get


@pytest.fixture(scope="session")
def testenv(testenv_for):
    """The whole local test environment."""
    return testenv_for()


@pytest.fixture()
def tmp_home(tmp_path, monkeypatch):
    """Isolate HOME-based config (kube, azure, helm caches) for tests that must not see the user's."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def pytest_sessionfinish(session, exitstatus):
    # pytest exit code 5 (no tests collected) must not pass silently in CI.
    if exitstatus == 5 and os.environ.get("CI_REQUIRE_TESTS", "1") == "1":
        session.exitstatus = 1
