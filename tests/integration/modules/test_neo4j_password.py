"""neo4j_password against a real Neo4j 5.26 server, through ansible-playbook.

The tests change passwords, so they run on a private instance of the test Neo4j (its own ports, data and
password): the shared server's password never changes under other tests.
"""

from __future__ import annotations


import neo4j
import pytest

from testenv_client import localhost_play, run_playbook

from testenv.components.neo4j_server import private_instance

pytestmark = pytest.mark.integration

ROTATED = "rotated-Passw0rd-1"
APP_INITIAL = "app-initial-Passw0rd"
APP_OWN = "app-own-Passw0rd-2"
APP_RESET = "app-reset-Passw0rd-3"


@pytest.fixture(scope="module")
def server(testenv_for, tmp_path_factory):
    testenv_for("neo4j")  # builds the server's jars once
    with private_instance(tmp_path_factory.mktemp("neo4j-password") / "home") as inst:
        yield inst


def can_query(uri, user, password):
    """What the server says about user/password: 'ok', 'expired' (change required) or 'denied'."""
    try:
        with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as drv:
            with drv.session(database="system") as session:
                session.run("SHOW CURRENT USER").consume()
        return "ok"
    except neo4j.exceptions.AuthError:
        return "denied"
    except neo4j.exceptions.ClientError as err:
        if err.code == "Neo.ClientError.Security.CredentialsExpired":
            return "expired"
        raise


def password_task(**options):
    return {"name": "password", "neo4j_azure.aks.neo4j_password": options}


def run(server, check=False, verbosity=0, json_output=True, **options):
    options.setdefault("uri", server.uri)
    result = run_playbook(localhost_play([password_task(**options)]), check=check, verbosity=verbosity,
                          json_output=json_output)
    return result


def test_rotate_own_password(server):
    original = server.password
    try:
        result = run(server, check=True, password=original, new_password=ROTATED)
        assert result.rc == 0, result
        assert result.task("password")["changed"] is True
        assert can_query(server.uri, "neo4j", original) == "ok"  # check mode changed nothing
        assert can_query(server.uri, "neo4j", ROTATED) == "denied"

        result = run(server, password=original, new_password=ROTATED)
        assert result.rc == 0, result
        res = result.task("password")
        assert res["changed"] is True and res["method"] == "current_user" and res["user"] == "neo4j"
        assert can_query(server.uri, "neo4j", ROTATED) == "ok"
        assert can_query(server.uri, "neo4j", original) == "denied"

        again = run(server, password=original, new_password=ROTATED)
        assert again.rc == 0 and again.task("password")["changed"] is False and again.changed() == 0
        check_again = run(server, check=True, password=original, new_password=ROTATED)
        assert check_again.task("password")["changed"] is False
    finally:
        run(server, password=ROTATED, new_password=original)
    assert can_query(server.uri, "neo4j", original) == "ok"


def test_no_password_in_verbose_output(server):
    original = server.password
    try:
        result = run(server, verbosity=3, json_output=False, password=original, new_password=ROTATED)
        assert result.rc == 0, result.stdout[-3000:]
        assert "changed: [localhost]" in result.stdout
        again = run(server, verbosity=3, json_output=False, password=original, new_password=ROTATED)
        output = result.stdout + result.stderr + again.stdout + again.stderr
        assert original not in output and ROTATED not in output
    finally:
        run(server, password=ROTATED, new_password=original)


def test_wrong_current_password_fails_as_auth_error(server):
    result = run(server, password="wrong-Passw0rd", new_password=ROTATED)
    res = result.task("password")
    assert result.rc != 0 and res["error_kind"] == "auth"
    assert "neither password nor new_password is accepted for user 'neo4j'" in res["msg"]
    assert can_query(server.uri, "neo4j", server.password) == "ok"


def test_forced_change_and_admin_reset_of_another_user(server):
    admin = {"password": server.password}
    with neo4j.GraphDatabase.driver(server.uri, auth=("neo4j", server.password)) as drv:
        drv.execute_query("CREATE OR REPLACE USER app SET PASSWORD $p CHANGE REQUIRED", {"p": APP_INITIAL},
                          database_="system")
    try:
        assert can_query(server.uri, "app", APP_INITIAL) == "expired"
        # The user's own first login: the forced change, as a fresh server's neo4j/neo4j needs it.
        result = run(server, user="app", password=APP_INITIAL, new_password=APP_OWN)
        assert result.rc == 0, result
        assert result.task("password")["changed"] is True
        assert can_query(server.uri, "app", APP_OWN) == "ok"
        assert run(server, user="app", password=APP_INITIAL, new_password=APP_OWN).task("password")["changed"] is False

        # The administrator resets it: check mode, apply, apply again.
        check = run(server, check=True, name="app", new_password=APP_RESET, **admin)
        assert check.task("password")["changed"] is True
        assert can_query(server.uri, "app", APP_OWN) == "ok"
        reset = run(server, name="app", new_password=APP_RESET, **admin)
        res = reset.task("password")
        assert res["changed"] is True and res["method"] == "admin" and res["user"] == "app"
        assert can_query(server.uri, "app", APP_RESET) == "ok"
        assert can_query(server.uri, "app", APP_OWN) == "denied"
        assert run(server, name="app", new_password=APP_RESET, **admin).task("password")["changed"] is False

        # Only the change-required flag differs: set it without touching the password, then idempotent.
        flagged = run(server, name="app", new_password=APP_RESET, change_required=True, **admin)
        assert flagged.task("password")["changed"] is True
        assert can_query(server.uri, "app", APP_RESET) == "expired"
        assert run(server, name="app", new_password=APP_RESET, change_required=True,
                   **admin).task("password")["changed"] is False

        missing = run(server, name="nobody", new_password=APP_RESET, **admin)
        assert missing.rc != 0 and "user 'nobody' does not exist" in missing.task("password")["msg"]
    finally:
        with neo4j.GraphDatabase.driver(server.uri, auth=("neo4j", server.password)) as drv:
            drv.execute_query("DROP USER app IF EXISTS", database_="system")
