#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: bicep_deployment
short_description: Deploy a Bicep or ARM template, idempotently, driven by ARM what-if
version_added: 0.1.0
description:
  - Deploys a Bicep file (compiled with the C(bicep) CLI or C(az bicep build)), an ARM JSON template file or an
    inline template at resource group or subscription scope.
  - Runs ARM B(what-if) first. When what-if reports only C(NoChange)/C(Ignore) and the named deployment exists
    and succeeded, no deployment is sent and the task reports C(changed=false).
  - Otherwise ARM B(validate) runs before the deployment, so template errors come back before anything
    changes; then the deployment is sent and awaited up to O(wait_timeout).
  - In check mode only what-if runs; its changes are the task's diff (before/after per resource).
  - Values of C(secureString)/C(secureObject) parameters are never returned or logged.
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.azure
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: Runs ARM what-if only (with O(state=absent), lists what would be deleted); nothing is created, changed
      or deleted.
  diff_mode:
    support: full
    details: The what-if changes, one before/after entry per resource that would change.
options:
  name:
    description: Name of the deployment (the ARM deployment object).
    type: str
    required: true
  resource_group:
    description:
      - Resource group to deploy into. Without it the deployment is at subscription scope (and needs
        O(location)).
    type: str
  location:
    description:
      - Location of the deployment metadata at subscription scope.
      - With O(create_resource_group=true), the location of the resource group to create.
    type: str
  create_resource_group:
    description:
      - Create O(resource_group) in O(location) when it does not exist. Off by default, so a typo never
        creates a group somewhere unexpected.
    type: bool
    default: false
  template_file:
    description:
      - A C(.bicep) file (compiled on the controller, see O(bicep_path)) or an ARM JSON template file.
      - Mutually exclusive with O(template); one of them is required with O(state=present).
    type: path
  template:
    description: The ARM template as a dict (for example from C(lookup('file', 'x.json') | from_json)).
    type: dict
  parameters:
    description:
      - Template parameter values by name, as plain values (not wrapped in ARM's C(value) objects).
      - Override values from O(parameters_file). Integers and booleans given as strings are converted when
        the template declares C(int) or C(bool); any other type mismatch fails before a request is sent.
    type: dict
    default: {}
  parameters_file:
    description:
      - An ARM deployment parameters JSON file (C(parameters.<name>.value)), or a C(.bicepparam) file, compiled
        with C(bicep build-params) (the Bicep CLI, see O(bicep_path)).
      - A C(.bicepparam) file names its template (C(using 'main.bicep')); without O(template_file) or
        O(template), that template is deployed.
      - Values in O(parameters) override the file's.
    type: path
  mode:
    description:
      - V(incremental) leaves resources of the group that the template does not mention alone.
      - V(complete) deletes them (what-if shows them as C(Delete) first).
    type: str
    default: incremental
    choices: [incremental, complete]
  state:
    description:
      - V(present) deploys the template.
      - V(absent) deletes the deployment object; the resources it created only with O(delete_resources=true),
        and the resource group too when O(delete_resource_group=true).
    type: str
    default: present
    choices: [present, absent]
  delete_resources:
    description:
      - With O(state=absent), first delete the resources the deployment created (its C(outputResources), read
        from ARM before deleting), except those of a type in O(keep_resource_types).
      - Children and extension resources (for example role assignments) are deleted before their parents
        (deepest resource id first); a delete refused because something still uses the resource (HTTP 409, or
        C(InUse...) errors) is retried after the others, as long as each round deletes something.
      - The api-version of each delete comes from the resource provider's registered versions (newest stable).
      - Resource groups are never deleted this way (see O(delete_resource_group)).
      - In check mode, returns what would be deleted and kept, and deletes nothing.
    type: bool
    default: false
  keep_resource_types:
    description:
      - With O(delete_resources=true), resource types to keep, as C(Namespace/type) (case-insensitive), for example
        C(Microsoft.Storage/storageAccounts) or C(Microsoft.KeyVault/vaults).
      - Everything below a kept resource (its child resources and the extension resources scoped to it, for
        example a storage account's blob containers) is kept too.
    type: list
    elements: str
    default: []
  delete_resource_group:
    description: With O(state=absent), also delete O(resource_group) and B(everything in it).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for what-if, validation and the deployment to finish.
    type: int
    default: 3600
  bicep_path:
    description:
      - Path of the C(bicep) CLI. Default is C(bicep) on C(PATH), then C(az bicep build).
    type: path
  what_if_short_circuit:
    description:
      - What to do when ARM's what-if could not evaluate part of the template (diagnostic
        C(NestedDeploymentShortCircuited), for a nested deployment whose name, scope or parameters come from runtime
        values, whose resources what-if then lists as C(Ignore)). "No change" proves nothing there.
      - V(deploy) deploys anyway (changed), warns and names the nested deployments.
      - V(fail) fails before any write, for pipelines that want what-if to be a strict gate.
    type: str
    default: deploy
    choices: [deploy, fail]
    version_added: 0.2.0
notes:
  - Outputs of the last successful deployment are returned also when nothing changed, so later tasks can use
    them on every run.
  - A what-if C(Modify) whose every property change is C(NoEffect) (a read-only property a deployment will not
    set) counts as no change, so it sends no PUT.
seealso:
  - name: ARM what-if
    description: How what-if predicts changes.
    link: https://learn.microsoft.com/azure/azure-resource-manager/templates/deploy-what-if
"""

EXAMPLES = r"""
- name: Deploy the infrastructure
  neo4j_azure.aks.bicep_deployment:
    name: neo4j-infra
    resource_group: rg-neo4j-prod
    template_file: "{{ role_path }}/files/bicep/main.bicep"
    parameters:
      clusterName: aks-neo4j-prod
      neo4jNodeCount: 3
  register: infra

- name: Show what would change, without changing anything
  neo4j_azure.aks.bicep_deployment:
    name: neo4j-infra
    resource_group: rg-neo4j-prod
    template_file: main.json
    parameters_file: prod.parameters.json
  check_mode: true
  diff: true

- name: Subscription-scope deployment that creates resource groups
  neo4j_azure.aks.bicep_deployment:
    name: neo4j-landing-zone
    location: westeurope
    template: "{{ lookup('ansible.builtin.file', 'landing.json') | from_json }}"

- name: Remove the deployment record (resources stay)
  neo4j_azure.aks.bicep_deployment:
    name: neo4j-infra
    resource_group: rg-neo4j-prod
    state: absent

- name: Remove the resources the deployment created, keeping storage and Key Vault
  neo4j_azure.aks.bicep_deployment:
    name: neo4j-infra
    resource_group: rg-neo4j-dev
    state: absent
    delete_resources: true
    keep_resource_types:
      - Microsoft.Storage/storageAccounts
      - Microsoft.KeyVault/vaults
  register: destroyed
"""

RETURN = r"""
outputs:
  description: Template outputs of the deployment, by output name (plain values).
  returned: when the deployment exists
  type: dict
  sample: {"clusterName": "aks-neo4j-prod"}
provisioning_state:
  description: ARM provisioning state of the deployment.
  returned: when the deployment exists
  type: str
  sample: Succeeded
correlation_id:
  description: ARM correlation id of the deployment (quote it to Azure support).
  returned: when the deployment exists
  type: str
duration:
  description: ISO 8601 duration of the deployment as ARM reports it.
  returned: when the deployment exists
  type: str
  sample: PT1M12.5S
deployment_id:
  description: Resource id of the deployment.
  returned: when the deployment exists
  type: str
what_if:
  description: What-if result.
  returned: with O(state=present)
  type: dict
  contains:
    summary:
      description: Number of resources per change type (Create, Modify, Delete, NoChange, Ignore, ...).
      type: dict
      sample: {"Create": 1, "NoChange": 4}
    changes:
      description: Resources that change, with the property paths that change.
      type: list
      elements: dict
      sample: [{"resource_id": "/subscriptions/.../storageAccounts/st1", "change_type": "Modify",
                "changed_paths": ["properties.minimumTlsVersion"]}]
    diagnostics:
      description:
        - ARM's what-if diagnostics (level, code, message, target), e.g. C(NestedDeploymentShortCircuited).
        - An C(Unsupported) change carries its C(unsupported_reason) in RV(what_if.changes).
      type: list
      elements: dict
      returned: when ARM reported any
error:
  description: On failure, the ARM error tree (code, message, target, details).
  returned: failure
  type: dict
error_code:
  description: On failure, the top-level ARM error code.
  returned: failure
  type: str
resource_group_created:
  description: Whether the resource group was (or in check mode would be) created.
  returned: when it was
  type: bool
resource_group_deleted:
  description: Whether the resource group was (or in check mode would be) deleted.
  returned: when it was
  type: bool
deleted_resources:
  description:
    - Ids of the resources deleted, in the order they were deleted (in check mode, that would be deleted).
    - On failure, the ones deleted before it.
  returned: with O(delete_resources=true)
  type: list
  elements: str
  sample: ["/subscriptions/.../virtualNetworks/vnet1/subnets/aks", "/subscriptions/.../virtualNetworks/vnet1"]
kept_resources:
  description: Ids of the deployment's resources left in place (O(keep_resource_types), what is below them,
    resource groups).
  returned: with O(delete_resources=true)
  type: list
  elements: str
  sample: ["/subscriptions/.../providers/Microsoft.Storage/storageAccounts/st1"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (
    AzureClients, AzureOpError, azure_auth_argument_spec, check_azure_requirements)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_bicep import (
    load_bicepparam, load_parameters_file, load_template)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_deployment import (
    DeploymentRunner, build_parameters)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def argument_spec():
    spec = azure_auth_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        resource_group=dict(type="str"),
        location=dict(type="str"),
        create_resource_group=dict(type="bool", default=False),
        template_file=dict(type="path"),
        template=dict(type="dict"),
        parameters=dict(type="dict", default={}),
        parameters_file=dict(type="path"),
        mode=dict(type="str", default="incremental", choices=["incremental", "complete"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        delete_resources=dict(type="bool", default=False),
        keep_resource_types=dict(type="list", elements="str", default=[]),
        delete_resource_group=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=3600),
        bicep_path=dict(type="path"),
        what_if_short_circuit=dict(type="str", default="deploy", choices=["deploy", "fail"]),
    )
    return spec


def run(module):
    params = module.params
    runner = DeploymentRunner(AzureClients(params), params, module.check_mode)
    if params["state"] == "absent":
        return runner.ensure_absent()
    file_values, param_template = None, None
    if params["parameters_file"] and params["parameters_file"].lower().endswith(".bicepparam"):
        file_values, param_template = load_bicepparam(params["parameters_file"], params["bicep_path"])
    elif params["parameters_file"]:
        file_values = load_parameters_file(params["parameters_file"])
    if params["template"] is None and params["template_file"] is None:
        if param_template is None:
            raise AzureOpError("state=present needs template_file, template, or a .bicepparam parameters_file "
                               "(its `using` names the template)", option="template_file")
        template = param_template
    else:
        template = load_template(params["template_file"], params["template"], params["bicep_path"])
    arm_parameters, secrets = build_parameters(template, params["parameters"], file_values)
    for secret in secrets:
        module.no_log_values.add(secret)
    result = runner.ensure_present(template, arm_parameters, secrets)
    for warning in runner.warnings:
        module.warn(warning)
    return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("template", "template_file")],
        required_if=[("state", "present", ("template", "template_file", "parameters_file"), True),
                     ("create_resource_group", True, ("resource_group", "location"))],
    )
    if module.params["state"] == "present" and not module.params["resource_group"] and not module.params["location"]:
        module.fail_json(msg="a subscription-scope deployment (no resource_group) needs the location option",
                         option="location")
    check_azure_requirements(module)
    run_module(module, lambda: run(module))


if __name__ == "__main__":
    main()
