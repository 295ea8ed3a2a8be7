# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Loading templates and parameters: ARM JSON as is; .bicep and .bicepparam compiled with the bicep CLI or
`az bicep`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError


def bicep_command(source, bicep_path=None, verb="build", option="template_file"):
    """The command line that compiles source (verb build: .bicep to ARM JSON; build-params: .bicepparam to
    parameters and template) to stdout, or an error naming what is missing."""
    if bicep_path:
        if not (os.path.isfile(bicep_path) and os.access(bicep_path, os.X_OK)):
            raise AzureOpError("bicep_path %s is not an executable file" % bicep_path, option="bicep_path")
        return [bicep_path, verb, source, "--stdout"]
    found = shutil.which("bicep")
    if found:
        return [found, verb, source, "--stdout"]
    az = shutil.which("az")
    if az:
        return [az, "bicep", verb, "--file", source, "--stdout"]
    raise AzureOpError(
        "%s %s is a Bicep file, but no Bicep CLI was found: install `bicep` (or the Azure CLI with "
        "`az bicep install`) on the controller, set the bicep_path option, or pass compiled ARM JSON "
        "instead" % (option, source), code="BicepNotFound", option=option)


def run_bicep(source, bicep_path, verb, option, timeout=300):
    """stdout of `bicep <verb> source --stdout`; a failure quotes the compiler's diagnostics."""
    cmd = bicep_command(source, bicep_path, verb, option)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise AzureOpError("compiling %s %s failed: %s" % (option, source, err), code="BicepBuildFailed",
                           option=option)
    if proc.returncode != 0:
        raise AzureOpError("compiling %s %s failed (exit %s):\n%s"
                           % (option, source, proc.returncode, (proc.stderr or proc.stdout).strip()[-4000:]),
                           code="BicepBuildFailed", option=option)
    return proc.stdout


def load_template(template_file=None, template=None, bicep_path=None, timeout=300):
    """The ARM template as a dict, from the template option or template_file (.json or .bicep)."""
    if template is not None:
        return template
    if not os.path.isfile(template_file):
        raise AzureOpError("template_file %s does not exist" % template_file, code="TemplateNotFound",
                           option="template_file")
    if template_file.lower().endswith(".bicep"):
        text = run_bicep(template_file, bicep_path, "build", "template_file", timeout)
    else:
        with open(template_file, encoding="utf-8") as handle:
            text = handle.read()
    try:
        data = json.loads(text)
    except ValueError as err:
        raise AzureOpError("template_file %s is not valid JSON: %s" % (template_file, err),
                           code="InvalidTemplate", option="template_file")
    if not isinstance(data, dict):
        raise AzureOpError("template_file %s must hold a JSON object" % template_file, code="InvalidTemplate",
                           option="template_file")
    return data


def load_bicepparam(path, bicep_path=None, timeout=300):
    """(parameters {name: value}, template dict) of a .bicepparam file: `bicep build-params --stdout` gives
    the ARM parameters file and the compiled template of the .bicep its `using` names."""
    if not os.path.isfile(path):
        raise AzureOpError("parameters_file %s does not exist" % path, option="parameters_file")
    text = run_bicep(path, bicep_path, "build-params", "parameters_file", timeout)
    try:
        built = json.loads(text)
        params = json.loads(built["parametersJson"])
        template = json.loads(built["templateJson"]) if built.get("templateJson") else None
    except (ValueError, KeyError, TypeError) as err:
        raise AzureOpError("parameters_file %s: unexpected output of bicep build-params (%s)" % (path, err),
                           code="BicepBuildFailed", option="parameters_file")
    return parameter_values(params, path), template


def load_parameters_file(path):
    """{name: value} from an ARM deploymentParameters JSON file (values under `value`)."""
    if not os.path.isfile(path):
        raise AzureOpError("parameters_file %s does not exist" % path, option="parameters_file")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except ValueError as err:
        raise AzureOpError("parameters_file %s is not valid JSON: %s" % (path, err), option="parameters_file")
    return parameter_values(data, path)


def parameter_values(data, path):
    """{name: value} of a deploymentParameters document (values under `value`)."""
    params = data.get("parameters", data) if isinstance(data, dict) else None
    if not isinstance(params, dict):
        raise AzureOpError("parameters_file %s must hold an object of parameters" % path, option="parameters_file")
    out = {}
    for name, entry in params.items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise AzureOpError("parameters_file %s: parameter %s needs a `value` (Key Vault references are not "
                               "supported)" % (path, name), option="parameters_file")
        out[name] = entry["value"]
    return out
