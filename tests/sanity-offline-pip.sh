#!/usr/bin/env bash
# ansible-test bootstraps pip in its sanity venvs with a get-pip script downloaded from
# ci-files.testing.ansible.com, which these machines cannot reach. Put a stand-in in its cache: it
# bootstraps pip with ensurepip, then installs the requested packages from PyPI like get-pip would.
set -euo pipefail
python=${1:-.venv/bin/python}
pip_version=$("$python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path="/usr/bin/python3"))["pip"])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cat >"$cache" <<'PY'
# Offline stand-in for get-pip.py (written by neo4j_azure.aks tests/sanity-offline-pip.sh).
import ensurepip
import os
import subprocess
import sys

saved_env = dict(os.environ)  # ensurepip sets PIP_CONFIG_FILE=/dev/null; the real install must not inherit it
ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env=saved_env))
PY
echo "$cache"
