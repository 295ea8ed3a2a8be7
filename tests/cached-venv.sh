#!/usr/bin/env bash
# A virtualenv built once per content and reused by every checkout on this machine (a clean clone in CI
# included): the venv lives in the cache outside the repository, keyed by its name, the Python version and the
# pip arguments with the content of every requirements file they name; the checkout gets a symlink to it.
#
#   tests/cached-venv.sh NAME LINK PYTHON PIP-ARGS...
#     e.g. tests/cached-venv.sh test .venv python3 -r requirements-test.txt
#
# A LINK that is a real directory (a venv made before this script existed) is left as it is.
# Cache: $NEO4J_AKS_CACHE (default ~/.cache/neo4j-azure-aks)/venvs/NAME-KEY; remove a directory there to rebuild it.
set -euo pipefail
name=$1 link=$2 python=$3
shift 3
cache="${NEO4J_AKS_CACHE:-$HOME/.cache/neo4j-azure-aks}/venvs"

die() { echo "cached-venv: $*" >&2; exit 1; }
command -v "$python" >/dev/null || die "$python not found: install Python 3.11+"
if [ -d "$link" ] && [ ! -L "$link" ]; then
    echo "cached-venv: $link is a directory of its own: kept (remove it to use the shared cache)"
    exit 0
fi

# The key: what decides the venv's content. Requirements files are read recursively (-r inside a file).
# A requirements file counts by its content, not its path (each clone has its own path).
key_input() {
    "$python" -c 'import sys; print(sys.version)'
    local prev="" arg
    for arg in "$@"; do
        if [ "$prev" = "-r" ] || [ "$prev" = "-c" ]; then requirements_content "$arg"; else printf '%s\n' "$arg"; fi
        prev=$arg
    done
}
requirements_content() {
    local file=$1 dir line
    [ -f "$file" ] || die "requirements file $file not found"
    dir=$(dirname "$file")
    cat "$file"
    while read -r line; do
        case "$line" in -r\ *|-c\ *) requirements_content "$dir/${line#-? }" ;; esac
    done <"$file"
}
key=$(key_input "$@" | sha256sum | cut -c1-16)
venv="$cache/$name-$key"

mkdir -p "$cache"
if [ ! -f "$venv/.complete" ]; then
    # One build per key at a time: a second caller waits, then finds it built.
    exec 9>"$venv.lock"
    flock 9
    if [ ! -f "$venv/.complete" ]; then
        echo "cached-venv: building $venv (pip install $*): minutes, once per content"
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip
        "$venv/bin/python" -m pip install -q "$@"
        touch "$venv/.complete"
    fi
fi
ln -sfn "$venv" "$link"
echo "cached-venv: $link -> $venv"
