"""keyvault_secret against the Key Vault test double with the real azure-keyvault-secrets client: a generated
secret is written once and a re-run changes nothing; a given value, check mode, properties, return_value, absent
and a vault without access; the values never appear in -vvv output. Two ansible-playbook runs in all."""

from __future__ import annotations

import datetime
import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError

from testenv.keyvault_double.client import current_value, module_defaults, secret_client
from testenv_client import localhost_play, run_playbook


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("arm", "keyvault")


def kv(name, register, env, **options):
    return {"name": register, "neo4j_azure.aks.keyvault_secret":
            {"vault_url": env["TESTENV_KEYVAULT_URL"], "name": name, **options}, "register": register}


def check_task(task):
    return dict(task, check_mode=True)


def failing(task):
    return dict(task, ignore_errors=True)


@pytest.fixture(scope="module")
def names():
    run = uuid.uuid4().hex[:8]
    return {"gen": f"kvtest-gen-{run}", "given": f"kvtest-given-{run}", "gone": f"kvtest-gone-{run}"}


def test_keyvault_secret(env, names):
    given_1, given_2 = "Given-" + uuid.uuid4().hex, "Given-" + uuid.uuid4().hex
    expires = "2031-01-02T03:04:05Z"
    generate = {"length": 40, "classes": ["lower", "upper", "digits", "special"], "special_characters": "-_"}
    tasks = [
        check_task(kv(names["gen"], "gen_check", env, generate=generate)),
        kv(names["gen"], "gen_1", env, generate=generate, content_type="text/plain", tags={"app": "neo4j"}),
        kv(names["gen"], "gen_2", env, generate=generate, content_type="text/plain", tags={"app": "neo4j"}),
        kv(names["given"], "given_1", env, value=given_1, expires=expires),
        kv(names["given"], "given_same", env, value=given_1, expires=expires),
        check_task(kv(names["given"], "given_check", env, value=given_2)),
        kv(names["given"], "given_tags", env, value=given_1, tags={"rotated": "no"}),
        dict(kv(names["given"], "given_read", env, return_value=True), no_log=True),
        {"name": "the value read back is the given one", "ansible.builtin.assert": {
            "that": ["given_read.value == given_value", "given_read.changed == false"], "quiet": True},
         "no_log": True, "vars": {"given_value": given_1}},
        failing(kv(names["given"], "read_without_no_log", env, return_value=True)),
        kv(names["gone"], "gone_make", env),
        check_task(kv(names["gone"], "gone_check", env, state="absent", purge=True)),
        kv(names["gone"], "gone_1", env, state="absent", purge=True),
        kv(names["gone"], "gone_2", env, state="absent", purge=True),
        failing(kv(names["gen"], "locked", env, vault_url=env["TESTENV_KEYVAULT_LOCKED_URL"])),
        failing(kv(names["gen"], "bad_expiry", env, expires="next tuesday")),
    ]
    play = localhost_play(tasks, module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})
    res = run_playbook(play, env=env, diff=True)
    print("task seconds:", [(t.name, round(t.seconds, 1)) for t in res.timed_tasks()])
    assert not [t for t in res.failed_tasks() if t[1] not in ("read_without_no_log", "locked", "bad_expiry")], res

    check = res.task("gen_check")
    assert check["changed"] is True and check["version"] is None
    assert check["diff"]["before"] == {"exists": False} and check["diff"]["after"]["value"] == "(hidden) generated"

    first, second = res.task("gen_1"), res.task("gen_2")
    assert first["changed"] is True and second["changed"] is False
    assert first["version"] and first["version"] == second["version"]
    assert first["content_type"] == "text/plain" and first["tags"] == {"app": "neo4j"}
    generated = current_value(env, names["gen"])
    assert len(generated) == 40 and set(generated) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                          "0123456789-_")
    assert any(c.islower() for c in generated) and any(c.isupper() for c in generated)
    assert any(c.isdigit() for c in generated) and any(c in "-_" for c in generated)

    assert res.task("given_1")["changed"] is True and res.task("given_same")["changed"] is False
    assert res.task("given_1")["expires"] == expires
    given_check = res.task("given_check")
    assert given_check["changed"] is True and given_check["diff"]["after"]["value"] == "(hidden) changed"
    tags = res.task("given_tags")
    assert tags["changed"] is True and tags["version"] == res.task("given_1")["version"]  # properties, no version
    assert tags["diff"]["before"]["tags"] == {} and tags["diff"]["after"]["tags"] == {"rotated": "no"}
    versions = list(secret_client(env).list_properties_of_secret_versions(names["given"]))
    assert len(versions) == 1 and current_value(env, names["given"]) == given_1  # check mode wrote nothing
    props = secret_client(env).get_secret(names["given"]).properties
    assert props.expires_on == datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert "no_log" in res.task("read_without_no_log")["msg"]

    assert res.task("gone_make")["changed"] is True
    assert res.task("gone_check")["changed"] is True
    assert res.task("gone_1")["changed"] is True and res.task("gone_2")["changed"] is False
    assert current_value(env, names["gone"]) is None
    with pytest.raises(ResourceNotFoundError):  # purged, not only soft-deleted
        secret_client(env).get_deleted_secret(names["gone"])

    locked = res.task("locked")["msg"]
    assert env["TESTENV_KEYVAULT_LOCKED_URL"] in locked and env["TESTENV_AZURE_CLIENT_ID"] in locked
    assert "403" in locked and "Key Vault Secrets" in locked
    assert "expires" in res.task("bad_expiry")["msg"]
    for secret in (generated, given_1, given_2):
        assert secret not in res.stdout + res.stderr


def test_rerun_changes_nothing_and_hides_values(env, names):
    """The second application, at -vvv: changed=0 and neither value anywhere in the output."""
    generated = current_value(env, names["gen"])
    given = current_value(env, names["given"])
    if not (generated and given):
        pytest.skip("needs the secrets test_keyvault_secret writes (run the module's tests together)")
    tasks = [kv(names["gen"], "gen", env, content_type="text/plain", tags={"app": "neo4j"}),
             kv(names["given"], "given", env, value=given, tags={"rotated": "no"})]
    play = localhost_play(tasks, module_defaults={"group/neo4j_azure.aks.azure": module_defaults(env)})
    res = run_playbook(play, env=env, verbosity=3, diff=True, json_output=False)
    assert res.rc == 0, res
    assert "changed=0" in res.stdout and "failed=0" in res.stdout
    assert generated not in res.stdout + res.stderr and given not in res.stdout + res.stderr
