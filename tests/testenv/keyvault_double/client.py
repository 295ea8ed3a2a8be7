"""Test-side helpers for the Key Vault test double: module options that point keyvault_secret at it, and the
real azure-keyvault-secrets client to read back what a test did."""

from __future__ import annotations

from testenv.arm_double.client import module_defaults as arm_module_defaults


def module_defaults(env: dict) -> dict:
    """Auth options for `module_defaults: group/neo4j_azure.aks.azure` that reach the vaults and Entra."""
    options = arm_module_defaults(env)
    options["endpoint_override"] = dict(options["endpoint_override"], ca_bundle=env["TESTENV_KEYVAULT_CA_BUNDLE"])
    return options


def secret_client(env: dict, locked: bool = False):
    """An SDK SecretClient on the test vault (or the locked one), as the test service principal."""
    from azure.identity import ClientSecretCredential  # pylint: disable=import-outside-toplevel
    from azure.keyvault.secrets import SecretClient  # pylint: disable=import-outside-toplevel

    bundle = env["TESTENV_KEYVAULT_CA_BUNDLE"]
    credential = ClientSecretCredential(env["TESTENV_AZURE_TENANT_ID"], env["TESTENV_AZURE_CLIENT_ID"],
                                        env["TESTENV_AZURE_CLIENT_SECRET"], authority=env["TESTENV_AZURE_AUTHORITY"],
                                        disable_instance_discovery=True, connection_verify=bundle)
    url = env["TESTENV_KEYVAULT_LOCKED_URL" if locked else "TESTENV_KEYVAULT_URL"]
    return SecretClient(url, credential, connection_verify=bundle, verify_challenge_resource=False)


def current_value(env: dict, name: str):
    """The value of the secret's current version, None when it does not exist."""
    from azure.core.exceptions import ResourceNotFoundError  # pylint: disable=import-outside-toplevel

    try:
        return secret_client(env).get_secret(name).value
    except ResourceNotFoundError:
        return None
