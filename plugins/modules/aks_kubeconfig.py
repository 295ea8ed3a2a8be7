#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: aks_kubeconfig
short_description: Write the kubeconfig of an AKS cluster to a file
version_added: 0.1.0
description:
  - Fetches the user or admin credentials of an Azure Kubernetes Service managed cluster
    (C(listClusterUserCredential) / C(listClusterAdminCredential)) and writes the kubeconfig to O(path).
  - The file is written atomically (temporary file and rename) with mode C(0600); the task reports a change
    only when the content (or the mode) differs.
  - The kubeconfig's content is never returned or shown in a diff.
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.azure
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: Fetches the credentials and compares them; writes nothing.
  diff_mode:
    support: partial
    details: Reports that the file changes, with sizes only (the content is a credential).
options:
  resource_group:
    description: Resource group of the managed cluster.
    type: str
    required: true
  cluster_name:
    description: Name of the managed cluster.
    type: str
    required: true
  path:
    description: File to write the kubeconfig to (parent directories are created with mode 0700).
    type: path
    required: true
  credential_type:
    description:
      - V(user) credentials (with Entra ID integration, these use kubelogin).
      - V(admin) credentials; refused by clusters with local accounts disabled.
    type: str
    default: user
    choices: [user, admin]
requirements:
  - azure-mgmt-containerservice
  - PyYAML
"""

EXAMPLES = r"""
- name: Fetch the kubeconfig of the cluster
  neo4j_azure.aks.aks_kubeconfig:
    resource_group: rg-neo4j-prod
    cluster_name: aks-neo4j-prod
    path: "{{ playbook_dir }}/.kube/aks-neo4j-prod.yaml"
  register: kube

- name: Use it
  kubernetes.core.k8s_info:
    kubeconfig: "{{ kube.path }}"
    context: "{{ kube.context }}"
    kind: Node
"""

RETURN = r"""
path:
  description: The kubeconfig file.
  returned: success
  type: str
  sample: /home/ops/.kube/aks-neo4j-prod.yaml
context:
  description: The kubeconfig's current context.
  returned: success
  type: str
  sample: aks-neo4j-prod
credential_type:
  description: Which credentials were fetched.
  returned: success
  type: str
  sample: user
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (
    AzureClients, azure_auth_argument_spec, check_azure_requirements)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_kubeconfig import KubeconfigFetcher
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def argument_spec():
    spec = azure_auth_argument_spec()
    spec.update(
        resource_group=dict(type="str", required=True),
        cluster_name=dict(type="str", required=True),
        path=dict(type="path", required=True),
        credential_type=dict(type="str", default="user", choices=["user", "admin"]),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_azure_requirements(module)
    fetcher = KubeconfigFetcher(AzureClients(module.params), module.params, module.check_mode)
    run_module(module, fetcher.ensure)


if __name__ == "__main__":
    main()
