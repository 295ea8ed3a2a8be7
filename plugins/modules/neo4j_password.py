#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: neo4j_password
short_description: Set or rotate the password of a Neo4j user
version_added: 0.1.0
description:
  - Makes O(new_password) the password of user O(name) (by default the login user O(user)).
  - Idempotent without storing anything - it first tries to log in as O(name) with O(new_password); when that works
    (and the user's change-required state is as wanted), nothing changes.
  - For the login user itself it runs C(ALTER CURRENT USER SET PASSWORD FROM ... TO ...) with O(password) as the
    current password. That is also the statement a user whose password change is forced may run, so it completes
    the initial password change of a fresh server (user C(neo4j), password C(neo4j)).
  - For another user, the login user (an administrator) runs C(ALTER USER ... SET PASSWORD ... CHANGE [NOT]
    REQUIRED).
  - Passwords go to the server as query parameters and never appear in the task's output or diff.
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.neo4j
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: Logs in to find out whether the password would change; changes nothing.
  diff_mode:
    support: none
options:
  name:
    description:
      - User whose password is set. Defaults to O(user).
      - When it differs from O(user), O(user) must be allowed to alter users (an administrator).
    type: str
  new_password:
    description: The password to set. Never logged.
    type: str
    required: true
  change_required:
    description:
      - For another user (O(name) differs from O(user)), whether that user must change the password at next login.
      - Ignored when the login user changes its own password.
    type: bool
    default: false
notes:
  - A failed login attempt counts towards Neo4j's C(dbms.security.auth_max_failed_attempts); a run makes at most
    one with a wrong password.
"""

EXAMPLES = r"""
- name: Complete the initial password change of a fresh server
  neo4j_azure.aks.neo4j_password:
    uri: bolt://neo4j.example.internal:7687
    user: neo4j
    password: neo4j
    new_password: "{{ neo4j_admin_password }}"

- name: Rotate the admin password (current one from the vault, new one generated)
  neo4j_azure.aks.neo4j_password:
    uri: neo4j+s://neo4j.example.internal:7687
    password: "{{ neo4j_admin_password }}"
    new_password: "{{ neo4j_admin_password_next }}"

- name: Reset an application user's password as the administrator
  neo4j_azure.aks.neo4j_password:
    password: "{{ neo4j_admin_password }}"
    name: app
    new_password: "{{ app_password }}"
    change_required: false
"""

RETURN = r"""
user:
  description: User whose password was checked or set.
  returned: success
  type: str
  sample: neo4j
method:
  description: V(current_user) (C(ALTER CURRENT USER)) or V(admin) (C(ALTER USER)).
  returned: success
  type: str
  sample: current_user
port_forward:
  description: The tunnel used, when O(port_forward) is set.
  returned: when O(port_forward) is set
  type: dict
  sample: {pod: neo4j-0, port: 7687, connections: 2}
error_kind:
  description: Kind of failure (V(auth), V(unreachable), V(tls), V(forbidden), V(configuration), ...).
  returned: failure
  type: str
neo4j_code:
  description: The server's status code of the failure, when the server sent one.
  returned: failure
  type: str
  sample: Neo.ClientError.Security.Forbidden
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import (
    connection_argument_spec, require_driver, through_port_forward)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j_password import (
    PasswordManager, password_argument_spec)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def main():
    module = AnsibleModule(argument_spec={**connection_argument_spec(), **password_argument_spec()},
                           supports_check_mode=True)
    require_driver(module)
    run_module(module, lambda: through_port_forward(
        module.params, lambda params: PasswordManager(params).ensure(module.check_mode)))


if __name__ == "__main__":
    main()
