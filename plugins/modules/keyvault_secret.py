#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: keyvault_secret
short_description: Make a secret of Azure Key Vault present (a given or generated value) or absent
version_added: 0.2.0
description:
  - Keeps one secret of an Azure Key Vault as asked. The value is given (O(value)) or generated (O(generate)) when
    the secret does not exist yet; a generated secret that exists is left alone, so a play can run every day.
  - V(changed) comes from Key Vault itself; the module reads the current version first and writes a new version
    only when the given value differs from it, and updates the properties (content type, tags, expiry) of the
    current version only when they differ.
  - The value never appears in the result, the diff or an error message unless O(return_value=true); the task
    must then set C(no_log) (the module refuses otherwise).
  - A vault that refuses the identity (HTTP 403) fails with a message naming the identity and the vault.
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.azure
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: Reads the secret and reports what would change; writes nothing.
  diff_mode:
    support: full
    details: Before and after show version, content type, tags and expiry; the value only as V((hidden)).
options:
  vault_url:
    description:
      - Address of the vault, for example V(https://neo4j-prod-kv.vault.azure.net). One of O(vault_url) and
        O(vault_name) is required.
    type: str
  vault_name:
    description:
      - Name of the vault; its address is built from O(cloud_environment)'s Key Vault DNS suffix.
    type: str
  name:
    description: Name of the secret (1-127 letters, digits and hyphens).
    type: str
    required: true
  state:
    description: Whether the secret should exist.
    type: str
    choices: [present, absent]
    default: present
  value:
    description:
      - The value the current version should have. A different current value gets a new version.
      - Without it, a missing secret gets a generated value (O(generate)) and an existing one keeps its value.
    type: str
  generate:
    description: How a value is generated when O(value) is not given and the secret does not exist.
    type: dict
    default: {}
    suboptions:
      length:
        description: Number of characters (at least 8).
        type: int
        default: 32
      classes:
        description: Character classes to use; the value has at least one character of each.
        type: list
        elements: str
        choices: [lower, upper, digits, special]
        default: [lower, upper, digits]
      special_characters:
        description: The characters of the class V(special).
        type: str
        default: "-_.~!#%+="
  content_type:
    description: Content type of the secret (for example V(text/plain)); unmanaged when not given.
    type: str
  tags:
    description: Tags of the current version (all of them); unmanaged when not given.
    type: dict
  expires:
    description:
      - When the secret expires, as an ISO 8601 date-time (V(2027-06-30T00:00:00Z); UTC without a zone);
        unmanaged when not given.
    type: str
  return_value:
    description:
      - Return the current value as RV(value). The task must set C(no_log=true).
    type: bool
    default: false
  recover:
    description:
      - With O(state=present), recover a soft-deleted secret of that name (its versions come back) instead of
        failing.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), purge the secret after deleting it (or purge a soft-deleted one), so its name can be
        reused at once. Vaults with purge protection refuse it.
    type: bool
    default: false
requirements:
  - azure-identity
  - azure-keyvault-secrets
notes:
  - The identity needs the RBAC role Key Vault Secrets Officer on the vault (or a secrets access policy with get,
    set, delete, recover and purge as used) to write; reading with O(return_value) needs Key Vault Secrets User.
"""

EXAMPLES = r"""
- name: Neo4j password in Key Vault, generated once
  neo4j_azure.aks.keyvault_secret:
    vault_name: neo4j-prod-kv
    name: neo4j-password
    content_type: text/plain
    generate:
      length: 32
      classes: [lower, upper, digits]
    tags:
      app: neo4j
  register: password

- name: Use the version (never the value)
  ansible.builtin.debug:
    msg: "neo4j-password is at version {{ password.version }}"

- name: Read the value for a task that needs it
  neo4j_azure.aks.keyvault_secret:
    vault_name: neo4j-prod-kv
    name: neo4j-password
    return_value: true
  register: current
  no_log: true

- name: Remove a secret and free its name
  neo4j_azure.aks.keyvault_secret:
    vault_name: neo4j-prod-kv
    name: old-secret
    state: absent
    purge: true
"""

RETURN = r"""
name:
  description: Name of the secret.
  returned: always
  type: str
vault_url:
  description: Address of the vault.
  returned: always
  type: str
  sample: https://neo4j-prod-kv.vault.azure.net
exists:
  description: Whether the secret exists (after the task; in check mode, whether it would).
  returned: always
  type: bool
version:
  description: The current version, the one readers get. Null in check mode when a version would be created.
  returned: when the secret exists
  type: str
  sample: 4f2c1d9e8b7a4c3d9e8f7a6b5c4d3e2f
id:
  description: Identifier of the current version.
  returned: when the secret exists
  type: str
  sample: https://neo4j-prod-kv.vault.azure.net/secrets/neo4j-password/4f2c1d9e8b7a4c3d9e8f7a6b5c4d3e2f
content_type:
  description: Content type of the current version.
  returned: when the secret exists
  type: str
tags:
  description: Tags of the current version.
  returned: when the secret exists
  type: dict
expires:
  description: Expiry of the current version (ISO 8601, UTC), null without one.
  returned: when the secret exists
  type: str
value:
  description: The current value.
  returned: with O(return_value=true), when the secret exists
  type: str
diff:
  description: Before and after (version, content type, tags, expiry; the value only as V((hidden))).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (
    AzureOpError, azure_auth_argument_spec, check_azure_requirements)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_keyvault import (
    DEFAULT_SPECIAL, SecretRunner, secret_client)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def argument_spec():
    spec = azure_auth_argument_spec()
    spec.update(
        vault_url=dict(type="str"),
        vault_name=dict(type="str"),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        value=dict(type="str", no_log=True),
        generate=dict(type="dict", default={}, options=dict(
            length=dict(type="int", default=32, no_log=False),
            classes=dict(type="list", elements="str", default=["lower", "upper", "digits"],
                         choices=["lower", "upper", "digits", "special"]),
            special_characters=dict(type="str", default=DEFAULT_SPECIAL, no_log=False),
        )),
        content_type=dict(type="str"),
        tags=dict(type="dict"),
        expires=dict(type="str"),
        return_value=dict(type="bool", default=False, no_log=False),
        recover=dict(type="bool", default=False),
        purge=dict(type="bool", default=False),
    )
    return spec


def run(module):
    params = module.params
    if params["return_value"] and not module.no_log:
        raise AzureOpError("return_value=true returns the secret's value: set no_log: true on the task",
                           option="return_value")
    runner = SecretRunner(secret_client(params), params)
    if params["state"] == "absent":
        result = runner.absent(module.check_mode)
    else:
        result = runner.present(module.check_mode)
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff", None)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_one_of=[("vault_url", "vault_name")],
                           mutually_exclusive=[("vault_url", "vault_name")])
    check_azure_requirements(module)
    run_module(module, lambda: run(module))


if __name__ == "__main__":
    main()
