"""What-if summarising, parameter handling and redaction of bicep_deployment."""

from __future__ import annotations

import json

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure_bicep, azure_deployment as dep
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError

TEMPLATE = {"parameters": {"n": {"type": "int"}, "flag": {"type": "bool", "defaultValue": False},
                           "pw": {"type": "securestring"}, "tags": {"type": "object", "defaultValue": {}}}}


def test_parameters_are_coerced_and_secrets_collected():
    arm, secrets = dep.build_parameters(TEMPLATE, {"n": "3", "flag": "true", "pw": "s3cret"})
    assert arm == {"n": {"value": 3}, "flag": {"value": True}, "pw": {"value": "s3cret"}}
    assert secrets == ["s3cret"]


def test_option_values_override_file_values():
    arm = dep.build_parameters(TEMPLATE, {"n": 5, "pw": "x"}, {"n": 1, "flag": True})[0]
    assert arm["n"] == {"value": 5} and arm["flag"] == {"value": True}


@pytest.mark.parametrize("values, text", [
    ({"n": "three", "pw": "x"}, "parameters.n must be an integer"),
    ({"n": True, "pw": "x"}, "parameters.n must be an integer"),
    ({"n": 1, "pw": "x", "tags": []}, "parameters.tags"),
    ({"n": 1, "pw": "x", "nope": 1}, "nope are not declared"),
    ({"pw": "x"}, "needs a value for parameter(s) n"),
])
def test_bad_parameters_name_the_option(values, text):
    with pytest.raises(AzureOpError) as err:
        dep.build_parameters(TEMPLATE, values)
    assert text in str(err.value) and err.value.option == "parameters"


def test_parameters_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"$schema": "x", "parameters": {"n": {"value": 4}}}))
    assert azure_bicep.load_parameters_file(str(path)) == {"n": 4}
    path.write_text(json.dumps({"parameters": {"n": {"reference": {}}}}))
    with pytest.raises(AzureOpError) as err:
        azure_bicep.load_parameters_file(str(path))
    assert err.value.option == "parameters_file"


def test_missing_template_file_and_bicep_without_cli(tmp_path, monkeypatch):
    with pytest.raises(AzureOpError) as err:
        azure_bicep.load_template(str(tmp_path / "missing.json"))
    assert err.value.option == "template_file"
    source = tmp_path / "main.bicep"
    source.write_text("")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AzureOpError) as err:
        azure_bicep.load_template(str(source))
    assert err.value.option == "template_file" and "bicep_path" in str(err.value)


CHANGES = [
    {"resourceId": "/s/1/rg/a/p/X.Y/z/one", "changeType": "NoChange", "before": {}, "after": {}},
    {"resourceId": "/s/1/rg/a/p/X.Y/z/two", "changeType": "Ignore", "before": {}},
    {"resourceId": "/s/1/rg/a/p/X.Y/z/three", "changeType": "Modify",
     "before": {"id": "i", "properties": {"days": 7, "secret": "hush", "provisioningState": "Succeeded"}},
     "after": {"id": "i", "properties": {"days": 30, "secret": "hush"}},
     "delta": [{"path": "properties.days", "propertyChangeType": "Modify", "before": 7, "after": 30},
               {"path": "properties.list", "propertyChangeType": "Array",
                "children": [{"path": "0", "propertyChangeType": "Create", "after": "b"}]}]},
    {"resourceId": "/s/1/rg/a/p/X.Y/z/four", "changeType": "Create", "after": {"name": "four"}},
]


def test_summarize_what_if():
    summary, changed, diffs = dep.summarize_what_if(CHANGES, ["hush"])
    assert summary == {"NoChange": 1, "Ignore": 1, "Modify": 1, "Create": 1}
    assert [c["change_type"] for c in changed] == ["Modify", "Create"]
    assert changed[0]["changed_paths"] == ["properties.days", "properties.list.0"]
    assert diffs[0]["before"] == {"properties": {"days": 7, "secret": dep.REDACTED}}
    assert diffs[0]["after"]["properties"]["days"] == 30
    assert diffs[1]["before"] == {} and diffs[1]["after"] == {"name": "four"}
    assert "hush" not in json.dumps(diffs)


class Deployment:
    class properties:  # noqa: N801  (shape of the SDK model)
        provisioning_state = "Succeeded"


def test_needs_deploy():
    no_change = CHANGES[:2]
    assert dep.needs_deploy(no_change, Deployment()) is False
    assert dep.needs_deploy(no_change, None) is True
    assert dep.needs_deploy(CHANGES, Deployment()) is True


def test_blame_parameter_names_the_option():
    err = AzureOpError("what-if failed", code="InvalidTemplate",
                       error={"code": "InvalidTemplateDeployment", "details": [{"code": "InvalidTemplate",
                                                                                "target": "N"}]})
    out = dep.blame_parameter(err, {"parameters": {"n": {"type": "int"}}})
    assert out.option == "parameters" and "parameters.n" in str(out)
