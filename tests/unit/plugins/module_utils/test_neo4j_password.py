"""Decisions of neo4j_password (which statement, when nothing changes), with the server's answers simulated."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import AUTH, CONFIGURATION, Neo4jOpError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j_password import PasswordManager
from ansible_collections.neo4j_azure.aks.plugins.modules import neo4j_password


class FakeServer:
    """Users with their password and change-required flag; records the statements run."""

    def __init__(self, users):
        self.users = dict(users)
        self.statements = []

    def login(self, _params, user, password):
        stored = self.users.get(user)
        if not stored or stored[0] != password:
            return False, False
        return True, stored[1]

    def client(self, params):
        server = self

        class Client:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def run(self, query, parameters=None, database=None):
                server.statements.append(query)
                parameters = parameters or {}
                if query.startswith("SHOW USERS"):
                    return [{"user": parameters["name"]}] if parameters["name"] in server.users else []
                if query.startswith("ALTER CURRENT USER"):
                    server.users[params["user"]] = (parameters["new"], False)
                elif query.startswith("ALTER USER"):
                    old_password = server.users[parameters["name"]][0]
                    server.users[parameters["name"]] = (parameters.get("new", old_password),
                                                        "CHANGE REQUIRED" in query and "NOT" not in query)
                return []

        return Client()


def manager(server, **params):
    base = {"uri": "bolt://db:7687", "user": "neo4j", "password": "old-pass", "name": None,
            "new_password": "new-pass", "change_required": False}
    return PasswordManager({**base, **params}, client_factory=server.client, login=server.login)


def test_desired_password_already_works_changes_nothing():
    server = FakeServer({"neo4j": ("new-pass", False)})
    assert manager(server).ensure(False) == {"changed": False, "user": "neo4j", "method": "current_user"}
    assert server.statements == []


def test_check_mode_reports_the_change_without_running_it():
    server = FakeServer({"neo4j": ("old-pass", False)})
    assert manager(server).ensure(True)["changed"] is True
    assert server.statements == [] and server.users["neo4j"] == ("old-pass", False)


def test_own_password_rotates_with_alter_current_user():
    server = FakeServer({"neo4j": ("old-pass", False)})
    assert manager(server).ensure(False)["changed"] is True
    assert server.statements == ["ALTER CURRENT USER SET PASSWORD FROM $current TO $new"]
    assert server.users["neo4j"] == ("new-pass", False)


def test_forced_initial_change_uses_alter_current_user():
    server = FakeServer({"neo4j": ("neo4j", True)})
    assert manager(server, password="neo4j").ensure(False)["changed"] is True
    assert server.users["neo4j"] == ("new-pass", False)


def test_forced_change_to_the_same_password_is_refused_clearly():
    server = FakeServer({"neo4j": ("new-pass", True)})
    with pytest.raises(Neo4jOpError) as info:
        manager(server).ensure(False)
    assert info.value.kind == CONFIGURATION


def test_neither_password_works():
    server = FakeServer({"neo4j": ("other", False)})
    with pytest.raises(Neo4jOpError) as info:
        manager(server).ensure(False)
    assert info.value.kind == AUTH and "neither password nor new_password" in str(info.value)


def test_admin_sets_another_users_password_then_only_the_flag():
    server = FakeServer({"neo4j": ("old-pass", False), "app": ("app-old", False)})
    assert manager(server, name="app").ensure(False)["method"] == "admin"
    assert server.users["app"] == ("new-pass", False)
    assert server.statements[-1] == "ALTER USER $name SET PASSWORD $new CHANGE NOT REQUIRED"
    assert manager(server, name="app").ensure(False)["changed"] is False
    assert manager(server, name="app", change_required=True).ensure(False)["changed"] is True
    assert server.statements[-1] == "ALTER USER $name SET PASSWORD CHANGE REQUIRED"
    assert server.users["app"] == ("new-pass", True)


def test_admin_on_a_missing_user():
    server = FakeServer({"neo4j": ("old-pass", False)})
    with pytest.raises(Neo4jOpError) as info:
        manager(server, name="ghost").ensure(True)
    assert "user 'ghost' does not exist" in str(info.value)


def test_module_requires_new_password(capsys):
    with patch_module_args({"uri": "bolt://db:7687", "password": "x"}):
        with pytest.raises(SystemExit):
            neo4j_password.main()
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] and "new_password" in out["msg"]
