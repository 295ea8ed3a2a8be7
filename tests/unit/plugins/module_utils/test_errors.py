"""errors: every domain error is a ModuleError, and run_module is the one place that turns it into fail_json."""

from __future__ import annotations

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import ModuleError, run_module
from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import Neo4jOpError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j_health import HealthError


class Exited(Exception):
    pass


class FakeModule:
    def __init__(self):
        self.outcome = None

    def exit_json(self, **result):
        self.outcome = ("exit", result)
        raise Exited()

    def fail_json(self, **result):
        self.outcome = ("fail", result)
        raise Exited()


def run(work):
    module = FakeModule()
    with pytest.raises(Exited):
        run_module(module, work)
    return module.outcome


def raising(err):
    def work():
        raise err
    return work


def test_success_exits_with_the_result():
    assert run(lambda: {"changed": True, "x": 1}) == ("exit", {"changed": True, "x": 1})


def test_azure_error_fails_with_its_details():
    err = AzureOpError("deploy failed", code="InvalidTemplate", status_code=400, error={"code": "InvalidTemplate"},
                       option="parameters", correlation_id="c1")
    assert run(raising(err)) == ("fail", {"msg": "deploy failed", "error_code": "InvalidTemplate",
                                          "status_code": 400, "error": {"code": "InvalidTemplate"},
                                          "option": "parameters", "correlation_id": "c1"})


def test_neo4j_error_fails_unchanged_with_its_kind():
    err = Neo4jOpError("auth", "authentication failed", code="Neo.ClientError.Security.Unauthorized")
    assert run(raising(err)) == ("fail", {"msg": "authentication failed", "changed": False, "error_kind": "auth",
                                          "neo4j_code": "Neo.ClientError.Security.Unauthorized"})


def test_health_error_fails_with_what_was_measured():
    err = HealthError("not healthy: neo4j offline", {"problems": ["neo4j offline"], "attempts": 3})
    kind, result = run(raising(err))
    assert kind == "fail" and result == {"msg": "not healthy: neo4j offline", "problems": ["neo4j offline"],
                                         "attempts": 3, "changed": False, "healthy": False,
                                         "error_kind": "unhealthy"}


def test_every_domain_error_is_a_module_error():
    assert all(issubclass(cls, ModuleError) for cls in (AzureOpError, Neo4jOpError, HealthError))


def test_other_exceptions_are_not_swallowed():
    with pytest.raises(KeyError):
        run_module(FakeModule(), raising(KeyError("bug")))
