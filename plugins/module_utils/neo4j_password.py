# -*- coding: utf-8 -*-
# Copyright: Contributors to the neo4j_azure.aks collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Set or rotate a Neo4j user's password; the server is asked (by logging in) whether anything needs to change."""

from __future__ import annotations

from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import (
    AUTH, CONFIGURATION, Neo4jClient, Neo4jOpError, login_state)


def password_argument_spec():
    return {
        "name": {"type": "str"},
        "new_password": {"type": "str", "required": True, "no_log": True},
        "change_required": {"type": "bool", "default": False},
    }


class PasswordManager:
    """Two ways to change a password:

    - self: O(name) is the login user; `ALTER CURRENT USER SET PASSWORD FROM current TO new` (also what a user
      whose change is forced, such as the initial neo4j/neo4j, is allowed to run);
    - admin: another user; the login user runs `ALTER USER name SET PASSWORD ... CHANGE [NOT] REQUIRED`.

    Idempotent: the desired password is tried first; when it logs in (with the wanted change-required state),
    nothing is changed.
    """

    def __init__(self, params, client_factory=Neo4jClient, login=login_state):
        self.params = params
        self.client_factory = client_factory
        self.login = login

    def ensure(self, check_mode):
        params = self.params
        login_user = params["user"]
        target = params.get("name") or login_user
        if params["new_password"] == "":
            raise Neo4jOpError(CONFIGURATION, "new_password must not be empty")
        accepted, pending = self.login(params, target, params["new_password"])
        if target == login_user:
            return self._ensure_self(target, accepted, pending, check_mode)
        return self._ensure_other(target, accepted, pending, check_mode)

    def _result(self, target, method, changed):
        return {"changed": changed, "user": target, "method": method}

    def _ensure_self(self, target, accepted, pending, check_mode):
        params = self.params
        if accepted and not pending:
            return self._result(target, "current_user", False)
        if accepted and pending:
            raise Neo4jOpError(CONFIGURATION, f"user '{target}' must change its password, and new_password is the "
                                              "current one; Neo4j refuses to set the same password again")
        if not params.get("password"):
            raise Neo4jOpError(AUTH, f"new_password is not accepted for user '{target}' and no current password "
                                     "(password) was given to change it with")
        current_ok, _pending = self.login(params, target, params["password"])
        if not current_ok:
            raise Neo4jOpError(AUTH, f"Neo4j at {params['uri']}: neither password nor new_password is accepted "
                                     f"for user '{target}'")
        if not check_mode:
            with self.client_factory(params) as client:
                client.run("ALTER CURRENT USER SET PASSWORD FROM $current TO $new",
                           {"current": params["password"], "new": params["new_password"]}, database="system")
            self._verify(target)
        return self._result(target, "current_user", True)

    def _ensure_other(self, target, accepted, pending, check_mode):
        params = self.params
        wanted_pending = params["change_required"]
        if accepted and pending == wanted_pending:
            return self._result(target, "admin", False)
        with self.client_factory(params) as client:
            exists = client.run("SHOW USERS YIELD user WHERE user = $name RETURN user", {"name": target},
                                database="system")
            if not exists:
                raise Neo4jOpError(CONFIGURATION, f"user '{target}' does not exist on Neo4j at {params['uri']}")
            if not check_mode:
                flag = "CHANGE REQUIRED" if wanted_pending else "CHANGE NOT REQUIRED"
                if accepted:  # only the change-required flag differs; Neo4j refuses the same password again
                    client.run(f"ALTER USER $name SET PASSWORD {flag}", {"name": target}, database="system")
                else:
                    client.run(f"ALTER USER $name SET PASSWORD $new {flag}",
                               {"name": target, "new": params["new_password"]}, database="system")
        if not check_mode:
            self._verify(target, wanted_pending)
        return self._result(target, "admin", True)

    def _verify(self, target, wanted_pending=False):
        """Re-read the server: the new password must log in, else the change did not take."""
        accepted, pending = self.login(self.params, target, self.params["new_password"])
        if not accepted or pending != wanted_pending:
            raise Neo4jOpError(AUTH, f"the password of user '{target}' was changed but the new one does not log in "
                                     "as expected")
