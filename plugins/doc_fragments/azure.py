# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Azure authentication options, shared by every Azure module (neo4j_azure.aks.azure)."""

    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - How to obtain an Entra ID token (through azure-identity).
      - V(auto) uses a service principal when O(client_id), O(tenant) and O(secret) or O(certificate_path) are
        set, workload identity when O(client_id), O(tenant) and O(federated_token_file) are set, and otherwise
        azure-identity's C(DefaultAzureCredential) chain (environment, workload identity, managed identity,
        Azure CLI, ...).
      - V(service_principal) needs O(client_id), O(tenant) and O(secret) or O(certificate_path).
      - V(workload_identity) is OIDC federation as AWX, GitHub Actions and AKS pods use it; needs O(client_id),
        O(tenant) and O(federated_token_file).
      - V(msi) is a managed identity (system-assigned, or user-assigned when O(client_id) is set).
      - V(cli) reuses the login of the Azure CLI (C(az login)).
      - V(env) reads only the C(AZURE_*) environment variables, as azure-identity's C(EnvironmentCredential).
    type: str
    default: auto
    choices: [auto, service_principal, workload_identity, msi, cli, env]
  client_id:
    description:
      - Application (client) ID of the service principal, workload identity or user-assigned managed identity.
      - Falls back to the E(AZURE_CLIENT_ID) environment variable.
    type: str
  secret:
    description:
      - Client secret of the service principal. Never logged.
      - Falls back to the E(AZURE_CLIENT_SECRET) environment variable, then E(AZURE_SECRET) (the name AWX's
        Azure Resource Manager credential injects).
    type: str
  tenant:
    description:
      - Entra ID tenant (directory) ID.
      - Falls back to the E(AZURE_TENANT_ID) environment variable, then E(AZURE_TENANT) (AWX's name).
    type: str
  subscription_id:
    description:
      - Azure subscription to work in.
      - Falls back to the E(AZURE_SUBSCRIPTION_ID) environment variable.
    type: str
  certificate_path:
    description:
      - PEM or PKCS12 certificate (with its private key) of the service principal, instead of O(secret).
      - Falls back to the E(AZURE_CLIENT_CERTIFICATE_PATH) environment variable.
    type: path
  certificate_password:
    description:
      - Password of O(certificate_path), when it has one. Never logged.
      - Falls back to the E(AZURE_CLIENT_CERTIFICATE_PASSWORD) environment variable.
    type: str
  federated_token_file:
    description:
      - File holding the OIDC token federated with the app registration (workload identity).
      - Falls back to the E(AZURE_FEDERATED_TOKEN_FILE) environment variable.
    type: path
  cloud_environment:
    description:
      - The Azure cloud; selects the Entra ID authority and the Resource Manager endpoint.
    type: str
    default: AzureCloud
    choices: [AzureChinaCloud, AzureCloud, AzureUSGovernment]
  endpoint_override:
    description:
      - B(For tests only.) Points the module at a Resource Manager and Entra ID stand-in instead of the
        endpoints of O(cloud_environment). Do not set this against real Azure.
    type: dict
    suboptions:
      resource_manager:
        description: Base URL used instead of the cloud's Resource Manager endpoint.
        type: str
      authority:
        description: Entra ID authority URL used instead of the cloud's (instance discovery is then disabled).
        type: str
      ca_bundle:
        description: CA bundle (PEM) that signs the stand-in's TLS certificate.
        type: path
requirements:
  - azure-identity >= 1.19
notes:
  - Set these options once per play with C(module_defaults) and the action group C(group/neo4j_azure.aks.azure).
  - Transient Resource Manager errors (HTTP 429 honouring C(Retry-After), 408 and 5xx) are retried by
    azure-core's retry policy with exponential backoff.
"""
