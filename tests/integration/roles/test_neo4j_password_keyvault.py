"""The neo4j role's Key Vault password path (tasks/password_keyvault.yml) against the Key Vault test double: a
missing secret is generated once and becomes neo4j_password; the second run reads it (changed=0, same value); the
value never appears in the output; check mode on a vault without the secret says so and writes nothing."""

from __future__ import annotations

import uuid

import pytest

from testenv.keyvault_double.client import current_value, module_defaults
from testenv_client import localhost_play, run_playbook


@pytest.fixture(scope="module")
def env(testenv_for):
    return testenv_for("arm", "keyvault")


def role_tasks(secret):
    return [
        {"name": "password path", "ansible.builtin.include_role": {
            "name": "neo4j_azure.aks.neo4j", "tasks_from": "password_keyvault"},
         "vars": {"neo4j_keyvault_secret_name": secret}},
        {"name": "neo4j_password is set", "ansible.builtin.copy": {
            "content": "{{ neo4j_password | hash('sha256') }}", "dest": "{{ digest_file }}", "mode": "0600"}},
    ]


def test_generated_once_then_read(env, tmp_path):
    import hashlib  # pylint: disable=import-outside-toplevel

    secret = "role-pw-" + uuid.uuid4().hex[:8]
    defaults = {"group/neo4j_azure.aks.azure": module_defaults(env)}
    vars_ = {"neo4j_keyvault_url": env["TESTENV_KEYVAULT_URL"], "neo4j_release_name": "neo4j",
             "digest_file": str(tmp_path / "digest")}

    checked = run_playbook(localhost_play(role_tasks(secret)[:1], vars_=vars_, module_defaults=defaults), env=env,
                           check=True)
    assert checked.rc != 0 and "holds no secret" in checked.failure()
    assert current_value(env, secret) is None

    play = localhost_play(role_tasks(secret), vars_=vars_, module_defaults=defaults)
    first = run_playbook(play, env=env)
    assert first.rc == 0, first
    value = current_value(env, secret)
    assert value and len(value) == 32
    digest = (tmp_path / "digest").read_text()
    assert digest == hashlib.sha256(value.encode()).hexdigest()

    second = run_playbook(play, env=env, verbosity=3, json_output=False)
    assert second.rc == 0, second
    assert current_value(env, secret) == value and (tmp_path / "digest").read_text() == digest
    assert "changed=0" in second.stdout
    assert value not in first.stdout + first.stderr + second.stdout + second.stderr
