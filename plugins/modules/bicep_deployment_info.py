#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: bicep_deployment_info
short_description: Read an ARM deployment (outputs, provisioning state) without deploying anything
version_added: 0.2.0
description:
  - Reads one deployment of Azure Resource Manager at resource-group or subscription scope, as
    M(neo4j_azure.aks.bicep_deployment) made it, and returns its outputs and provisioning state.
  - Sends one read request (C(GET) of the deployment); it never runs a what-if and never writes, so a job
    that only needs the outputs of the infrastructure (a backup, a restore) does not touch it.
  - A deployment that does not exist is not an error; O(fail_when_missing) decides.
  - Outputs of type C(secureString) or C(secureObject) are never returned by Azure, so they are missing here.
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.azure
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: Reads only; check mode returns the same result.
  diff_mode:
    support: none
options:
  name:
    description: Name of the deployment.
    type: str
    required: true
  resource_group:
    description:
      - Resource group of the deployment. Without it, the deployment is read at subscription scope.
    type: str
  fail_when_missing:
    description:
      - Fail, naming the deployment and its scope, when the deployment does not exist.
      - Off by default, so a play can branch on RV(exists).
    type: bool
    default: false
requirements:
  - azure-identity
  - azure-mgmt-resource
"""

EXAMPLES = r"""
- name: Read the infrastructure outputs (no what-if, no write)
  neo4j_azure.aks.bicep_deployment_info:
    name: neo4j-infra
    resource_group: neo4j-prod-rg
    fail_when_missing: true
  register: infra

- name: Use an output
  ansible.builtin.debug:
    msg: "Backups go to {{ infra.outputs.blobEndpoint }}"

- name: A subscription-scope deployment, which may not exist yet
  neo4j_azure.aks.bicep_deployment_info:
    name: neo4j-landing-zone
  register: landing

- name: Deploy the landing zone only when it is missing
  ansible.builtin.debug:
    msg: "{{ 'missing' if not landing.exists else landing.provisioning_state }}"
"""

RETURN = r"""
exists:
  description: Whether the deployment exists.
  returned: always
  type: bool
  sample: true
outputs:
  description: The deployment's outputs (name to value); empty when it does not exist.
  returned: always
  type: dict
  sample: {"clusterName": "neo4j-prod-aks", "blobEndpoint": "https://neo4jprodst.blob.core.windows.net/"}
provisioning_state:
  description: The deployment's provisioning state (V(Succeeded), V(Failed), V(Canceled), V(Running), ...).
  returned: when the deployment exists
  type: str
  sample: Succeeded
deployment_id:
  description: Resource id of the deployment.
  returned: when the deployment exists
  type: str
  sample: /subscriptions/0000/resourceGroups/neo4j-prod-rg/providers/Microsoft.Resources/deployments/neo4j-infra
correlation_id:
  description: Correlation id of the operation that last changed the deployment.
  returned: when the deployment exists
  type: str
timestamp:
  description: When the deployment last ran.
  returned: when the deployment exists
  type: str
duration:
  description: How long the deployment took (ISO 8601 duration).
  returned: when the deployment exists
  type: str
error:
  description: The ARM error tree of a deployment that failed.
  returned: when the deployment exists and failed
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (
    AzureClients, AzureOpError, azure_auth_argument_spec, check_azure_requirements)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_deployment import (
    DeploymentRunner, deployment_result)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def argument_spec():
    spec = azure_auth_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        resource_group=dict(type="str"),
        fail_when_missing=dict(type="bool", default=False),
    )
    return spec


def run(params):
    deployment = DeploymentRunner(AzureClients(params), params).get_deployment()
    if deployment is None:
        if params["fail_when_missing"]:
            scope = "resource group %s" % params["resource_group"] if params["resource_group"] else "the subscription"
            raise AzureOpError("deployment %s does not exist in %s: deploy it first (bicep_deployment, or the infra "
                               "role), or check the name and resource_group options" % (params["name"], scope),
                               code="DeploymentNotFound", option="name")
        return {"changed": False, "exists": False, "outputs": {}}
    return dict(changed=False, exists=True, **deployment_result(deployment))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_azure_requirements(module)
    run_module(module, lambda: run(module.params))


if __name__ == "__main__":
    main()
