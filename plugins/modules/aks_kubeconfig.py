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
  login:
    description:
      - How the kubeconfig's Entra ID user logs in. Applies to users that run C(kubelogin) (what
        C(listClusterUserCredential) returns for clusters with Entra ID integration); kubeconfigs with client
        certificates (admin credentials, clusters without Entra ID) are written as returned.
      - The user is rewritten the way C(kubelogin convert-kubeconfig -l MODE) rewrites it. No secret and no token
        is written to the file; C(kubelogin) reads them when it runs.
      - V(auto) derives the mode from O(auth_source) (V(service_principal) -> V(spn), V(workload_identity) ->
        V(workloadidentity), V(msi) -> V(msi), V(cli) -> V(azurecli); for V(auto) and V(env), from the
        credentials given, falling back to V(azurecli)).
      - V(spn) - service principal; kubelogin reads the secret from E(AZURE_CLIENT_SECRET) (or
        E(AAD_SERVICE_PRINCIPAL_CLIENT_SECRET)) or uses the certificate O(certificate_path) (password in
        E(AZURE_CLIENT_CERTIFICATE_PASSWORD)). Needs O(client_id) and O(tenant).
      - V(workloadidentity) - federated token (AKS workload identity, AWX OIDC); kubelogin reads
        E(AZURE_CLIENT_ID), E(AZURE_TENANT_ID) and E(AZURE_FEDERATED_TOKEN_FILE) unless O(client_id), O(tenant)
        and O(federated_token_file) are given.
      - V(msi) - managed identity of the host (O(client_id) picks a user-assigned one).
      - V(azurecli) - the Azure CLI's signed-in account.
      - V(devicecode) - keeps AKS's interactive device-code login; refused when no terminal is attached.
    type: str
    default: auto
    choices: [auto, spn, workloadidentity, msi, azurecli, devicecode]
    version_added: 0.2.0
  check_access:
    description:
      - Before writing, run the kubeconfig's C(kubelogin) user once (as C(kubectl) would, with this task's
        environment) and send one read to the API server with its token (list namespaces, limit 1).
      - A refused login fails the task and says why. C(401 Unauthorized) - the token's audience, issuer, tenant or
        expiry (read from its claims here; the token is never returned or logged). C(403 Forbidden) - the
        identity is not a member of O(admin_group_object_ids).
      - Nothing is checked for kubeconfigs without kubelogin (client certificates) or with O(login=devicecode).
    type: bool
    default: false
    version_added: 0.2.0
  admin_group_object_ids:
    description:
      - The Entra ID groups the cluster binds to cluster-admin (C(aadProfile.adminGroupObjectIDs)); named in the
        message of O(check_access) when the identity gets C(403 Forbidden).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
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

- name: Fetch a kubeconfig that logs in unattended as the service principal (kubelogin spn)
  neo4j_azure.aks.aks_kubeconfig:
    auth_source: service_principal
    resource_group: rg-neo4j-prod
    cluster_name: aks-neo4j-prod
    path: "{{ playbook_dir }}/.kube/aks-neo4j-prod.yaml"
    login: spn
    check_access: true
    admin_group_object_ids: ["0f3c2b1a-9d8e-4f7a-8b6c-5d4e3f2a1b0c"]

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
login:
  description: The kubelogin login mode written to the kubeconfig; V(null) when its users run no kubelogin.
  returned: success
  type: str
  sample: spn
  version_added: 0.2.0
access:
  description: With O(check_access), the identity the API server let in.
  returned: when O(check_access) checked a kubelogin login
  type: dict
  contains:
    object_id:
      description: The object id (C(oid)) of the identity.
      type: str
    status_code:
      description: The API server's answer to the read.
      type: int
  sample: {"object_id": "2b6f0cc1-1c3a-5a5e-9f0e-1c2d3e4f5a6b", "status_code": 200}
  version_added: 0.2.0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import (
    AzureClients, azure_auth_argument_spec, check_azure_requirements)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_kubeconfig import KubeconfigFetcher
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_kubeconfig_login import LOGIN_MODES
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def argument_spec():
    spec = azure_auth_argument_spec()
    spec.update(
        resource_group=dict(type="str", required=True),
        cluster_name=dict(type="str", required=True),
        path=dict(type="path", required=True),
        credential_type=dict(type="str", default="user", choices=["user", "admin"]),
        login=dict(type="str", default="auto", choices=LOGIN_MODES),
        check_access=dict(type="bool", default=False),
        admin_group_object_ids=dict(type="list", elements="str", default=[]),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_azure_requirements(module)
    fetcher = KubeconfigFetcher(AzureClients(module.params), module.params, module.check_mode)
    run_module(module, fetcher.ensure)


if __name__ == "__main__":
    main()
