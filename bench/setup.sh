#!/usr/bin/env bash
# Prepares what bench/run.py needs beyond `make setup`: a separate venv with azure.azcollection's Python
# requirements (they conflict with the collection's own, so they cannot live in .venv). Idempotent: does
# nothing when the venv already imports azure.mgmt.resource and azure.cli.core.
#   bench/setup.sh            (run from anywhere; uses python3.11 or $PYTHON)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AZCOLLECTION_VENV:-$repo/.venv-azcollection}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
reqs="$repo/.venv/lib/python3.11/site-packages/ansible_collections/azure/azcollection/requirements.txt"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import azure.mgmt.resource, azure.cli.core.cloud' 2>/dev/null; then
    echo "bench/setup.sh: $venv is ready"
    exit 0
fi
if [ ! -f "$reqs" ]; then
    echo "bench/setup.sh: $reqs not found: run 'make setup' first (it installs the ansible package into .venv)" >&2
    exit 1
fi
# Built once per content in the cache outside the repository and linked here (several minutes when cold).
bash "$repo/tests/cached-venv.sh" azcollection "$venv" "$python" -r "$reqs"
"$venv/bin/python" -c 'import azure.mgmt.resource, azure.cli.core.cloud'
echo "bench/setup.sh: $venv is ready"
