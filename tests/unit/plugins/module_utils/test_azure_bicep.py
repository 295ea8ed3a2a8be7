"""azure_bicep: which Bicep CLI is used (bicep_path, PATH, `az bicep`), compiling .bicep and .bicepparam through
it, and what a failure says. A stand-in CLI (a shell script) replaces the real one: no network, no .NET."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure_bicep as bicep
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError

TEMPLATE = {"$schema": "x", "parameters": {"prefix": {"type": "string"}}, "resources": []}


def fake_cli(directory, name="bicep", stdout="", exit_code=0, stderr=""):
    """An executable that records its arguments in args.txt and prints stdout (from a file, verbatim)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "out.txt").write_text(stdout)
    (directory / "err.txt").write_text(stderr)
    path = directory / name
    path.write_text('#!/bin/sh\necho "$@" > "%s/args.txt"\ncat "%s/out.txt"\ncat "%s/err.txt" >&2\nexit %d\n'
                    % (directory, directory, directory, exit_code))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def args_of(directory):
    return (directory / "args.txt").read_text().split()


def test_bicep_path_wins_then_path_then_az(tmp_path, monkeypatch):
    own = fake_cli(tmp_path / "own")
    on_path = fake_cli(tmp_path / "path")
    az = fake_cli(tmp_path / "az", name="az")
    monkeypatch.setenv("PATH", os.pathsep.join([str(on_path.parent), str(az.parent)]))
    assert bicep.bicep_command("m.bicep", str(own)) == [str(own), "build", "m.bicep", "--stdout"]
    assert bicep.bicep_command("m.bicep") == [str(on_path), "build", "m.bicep", "--stdout"]
    monkeypatch.setenv("PATH", str(az.parent))
    assert bicep.bicep_command("p.bicepparam", verb="build-params") == [
        str(az), "bicep", "build-params", "--file", "p.bicepparam", "--stdout"]


def test_no_cli_names_the_option_and_the_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AzureOpError) as err:
        bicep.bicep_command("p.bicepparam", verb="build-params", option="parameters_file")
    assert err.value.code == "BicepNotFound" and err.value.option == "parameters_file"
    assert "bicep_path" in err.value.message and "az bicep install" in err.value.message


def test_bicep_path_that_is_not_executable(tmp_path):
    plain = tmp_path / "bicep"
    plain.write_text("")
    with pytest.raises(AzureOpError) as err:
        bicep.bicep_command("m.bicep", str(plain))
    assert err.value.option == "bicep_path"


def test_bicep_template_is_compiled(tmp_path):
    cli = fake_cli(tmp_path / "cli", stdout=json.dumps(TEMPLATE))
    source = tmp_path / "main.bicep"
    source.write_text("param prefix string\n")
    assert bicep.load_template(str(source), bicep_path=str(cli)) == TEMPLATE
    assert args_of(cli.parent) == ["build", str(source), "--stdout"]


def test_compiler_errors_are_quoted(tmp_path):
    cli = fake_cli(tmp_path / "cli", exit_code=1, stderr="main.bicep(1,7) : Error BCP018: Expected the \"=\".")
    source = tmp_path / "main.bicep"
    source.write_text("param\n")
    with pytest.raises(AzureOpError) as err:
        bicep.load_template(str(source), bicep_path=str(cli))
    assert err.value.code == "BicepBuildFailed" and err.value.option == "template_file"
    assert "BCP018" in err.value.message and "exit 1" in err.value.message


def test_bicepparam_gives_values_and_the_template_it_uses(tmp_path):
    built = {"parametersJson": json.dumps({"$schema": "p", "contentVersion": "1.0.0.0",
                                           "parameters": {"prefix": {"value": "neo"}, "count": {"value": 3}}}),
             "templateJson": json.dumps(TEMPLATE)}
    cli = fake_cli(tmp_path / "cli", stdout=json.dumps(built))
    source = tmp_path / "dev.bicepparam"
    source.write_text("using 'main.bicep'\nparam prefix = 'neo'\n")
    values, template = bicep.load_bicepparam(str(source), str(cli))
    assert values == {"prefix": "neo", "count": 3}
    assert template == TEMPLATE
    assert args_of(cli.parent) == ["build-params", str(source), "--stdout"]


def test_bicepparam_without_template_json(tmp_path):
    built = {"parametersJson": json.dumps({"parameters": {"prefix": {"value": "neo"}}})}
    cli = fake_cli(tmp_path / "cli", stdout=json.dumps(built))
    source = tmp_path / "dev.bicepparam"
    source.write_text("using none\n")
    assert bicep.load_bicepparam(str(source), str(cli)) == ({"prefix": "neo"}, None)


@pytest.mark.parametrize("stdout", ["not json", json.dumps({"templateJson": "{}"}),
                                    json.dumps({"parametersJson": "{broken"})])
def test_unexpected_build_params_output(tmp_path, stdout):
    cli = fake_cli(tmp_path / "cli", stdout=stdout)
    source = tmp_path / "dev.bicepparam"
    source.write_text("using 'main.bicep'\n")
    with pytest.raises(AzureOpError) as err:
        bicep.load_bicepparam(str(source), str(cli))
    assert err.value.option == "parameters_file" and "build-params" in err.value.message


def test_bicepparam_key_vault_reference_is_refused(tmp_path):
    built = {"parametersJson": json.dumps({"parameters": {"pw": {"reference": {"keyVault": {"id": "x"}}}}})}
    cli = fake_cli(tmp_path / "cli", stdout=json.dumps(built))
    source = tmp_path / "dev.bicepparam"
    source.write_text("using 'main.bicep'\n")
    with pytest.raises(AzureOpError) as err:
        bicep.load_bicepparam(str(source), str(cli))
    assert "pw" in err.value.message and err.value.option == "parameters_file"


def test_missing_bicepparam_file(tmp_path):
    with pytest.raises(AzureOpError) as err:
        bicep.load_bicepparam(str(tmp_path / "nope.bicepparam"))
    assert err.value.option == "parameters_file"


def test_template_file_that_is_not_an_object(tmp_path):
    source = tmp_path / "t.json"
    source.write_text("[1, 2]")
    with pytest.raises(AzureOpError) as err:
        bicep.load_template(str(source))
    assert err.value.code == "InvalidTemplate"
