# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Loading templates and parameters: ARM JSON as is, .bicep compiled with the bicep CLI or `az bicep`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError


def bicep_command(source, bicep_path=None):
    """The command line that compiles source to ARM JSON on stdout, or an error naming what is missing."""
    if bicep_path:
        if not (os.path.isfile(bicep_path) and os.access(bicep_path, os.X_OK)):
            raise AzureOpError("bicep_path %s is not an executable file" % bicep_path, option="bicep_path")
        return [bicep_path, "build", source, "--stdout"]
    found = shutil.which("bicep")
    if found:
        return [found, "build", source, "--stdout"]
    az = shutil.which("az")
    if az:
        return [az, "bicep", "build", "--file", source, "--stdout"]
    raise AzureOpError(
        "template_file %s is a Bicep file, but no Bicep CLI was found: install `bicep` (or the Azure CLI with "
        "`az bicep install`) on the controller, set the bicep_path option, or pass a compiled ARM JSON template "
        "in template_file / template" % source, code="BicepNotFound", option="template_file")


def load_template(template_file=None, template=None, bicep_path=None, timeout=300):
    """The ARM template as a dict, from the template option or template_file (.json or .bicep)."""
    if template is not None:
        return template
    if not os.path.isfile(template_file):
        raise AzureOpError("template_file %s does not exist" % template_file, code="TemplateNotFound",
                           option="template_file")
    if template_file.lower().endswith(".bicep"):
        cmd = bicep_command(template_file, bicep_path)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise AzureOpError("compiling template_file %s failed: %s" % (template_file, err),
                               code="BicepBuildFailed", option="template_file")
        if proc.returncode != 0:
            raise AzureOpError("compiling template_file %s failed (exit %s):\n%s"
                               % (template_file, proc.returncode, (proc.stderr or proc.stdout).strip()[-4000:]),
                               code="BicepBuildFailed", option="template_file")
        text = proc.stdout
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


def load_parameters_file(path):
    """{name: value} from an ARM deploymentParameters JSON file (values under `value`)."""
    if not os.path.isfile(path):
        raise AzureOpError("parameters_file %s does not exist" % path, option="parameters_file")
    if path.lower().endswith(".bicepparam"):
        raise AzureOpError("parameters_file %s: .bicepparam files are not supported; use an ARM JSON parameters "
                           "file or the parameters option" % path, option="parameters_file")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except ValueError as err:
        raise AzureOpError("parameters_file %s is not valid JSON: %s" % (path, err), option="parameters_file")
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
