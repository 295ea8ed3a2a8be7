"""Where the Bicep CLI is, found the same way by the test environment, the tests, CI and the Makefile.

    python3 tests/testenv/bicep_cli.py        print the path of the bicep executable (exit 1 with the reason if none)

Order: $BICEP_BIN; ../shared/tools/bicep/bicep beside the checkout (the CLI kept for tests and CI, see its
README); /work/shared/tools/bicep/bicep (the same folder, for clones elsewhere on this machine); `bicep` on
PATH. Standard library only: the Makefile runs it before any venv exists.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VERSION = "0.49.2"  # the version the tests and the execution environment (extensions/ee) pin
CANDIDATES = (REPO.parent / "shared" / "tools" / "bicep" / "bicep", Path("/work/shared/tools/bicep/bicep"))


def _executable(path) -> bool:
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def find_bicep() -> Path | None:
    """The bicep executable, or None."""
    explicit = os.environ.get("BICEP_BIN")
    if explicit:
        return Path(explicit) if _executable(explicit) else None
    for path in CANDIDATES:
        if _executable(path):
            return path
    found = shutil.which("bicep")
    return Path(found) if found else None


def bicep_env() -> dict:
    """Variables that let the CLI run here: BICEP_BIN, and invariant globalization where ICU is missing."""
    path = find_bicep()
    if path is None:
        return {}
    env = {"BICEP_BIN": str(path)}
    if not ctypes.util.find_library("icuuc"):
        env["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1"
    return env


def main() -> int:
    path = find_bicep()
    if path is None:
        where = os.environ.get("BICEP_BIN") or ", ".join(str(p) for p in CANDIDATES) + ", PATH"
        print(f"no Bicep CLI found (looked at {where}); set BICEP_BIN", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
