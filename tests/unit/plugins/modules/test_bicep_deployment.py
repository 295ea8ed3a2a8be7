"""Argument handling of the bicep_deployment and aks_kubeconfig modules (no Azure needed)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure_kubeconfig
from ansible_collections.neo4j_azure.aks.plugins.modules import aks_kubeconfig, bicep_deployment


def run_main(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_template_and_template_file_are_exclusive(capsys):
    out = run_main(bicep_deployment, {"name": "d", "resource_group": "rg", "template": {}, "template_file": "x"},
                   capsys)
    assert out["failed"] and "mutually exclusive" in out["msg"]


def test_subscription_scope_needs_location(capsys):
    out = run_main(bicep_deployment, {"name": "d", "template": {"resources": []}}, capsys)
    assert out["failed"] and out["option"] == "location"


def test_present_needs_a_template(capsys):
    out = run_main(bicep_deployment, {"name": "d", "resource_group": "rg"}, capsys)
    assert out["failed"] and "template" in out["msg"]


def test_missing_template_file_fails_before_any_request(capsys, tmp_path):
    out = run_main(bicep_deployment, {"name": "d", "resource_group": "rg", "subscription_id": "s",
                                      "template_file": str(tmp_path / "nope.json")}, capsys)
    assert out["failed"] and out["option"] == "template_file"


def test_argspecs_share_the_auth_options():
    for module in (bicep_deployment, aks_kubeconfig):
        spec = module.argument_spec()
        assert spec["secret"]["no_log"] and spec["auth_source"]["default"] == "auto"


def test_kubeconfig_written_atomically_0600(tmp_path):
    path = tmp_path / "dir" / "kubeconfig"
    azure_kubeconfig.write_atomically(str(path), b"current-context: c1\n")
    assert path.read_bytes() == b"current-context: c1\n"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert azure_kubeconfig.current_context(path.read_bytes()) == "c1"
    assert [p.name for p in path.parent.iterdir()] == ["kubeconfig"]
