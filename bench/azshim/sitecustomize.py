"""Compatibility shim, loaded (PYTHONPATH=bench/azshim) only by the azure.azcollection interpreter of the bench.

azure.azcollection's azure_rm_common resolves a `cloud_environment` given as a URL with
`azure.cli.core.cloud.get_cloud_from_metadata_endpoint(url)`, a function of the retired msrestazure package
that azure-cli-core (pinned by the collection's requirements.txt) does not have: the documented custom-cloud
path fails with AttributeError. This adds that one function, with msrestazure's meaning (the argument is the
Resource Manager endpoint; its `/metadata/endpoints` document describes the cloud), mapped with
azure-cli-core's own ARM-metadata converter. It changes no request the module sends to Resource Manager; it
only lets the module be pointed at the ARM test double, as a user would point it at Azure Stack.
"""

import os


def _install():
    try:
        from azure.cli.core import cloud  # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    if hasattr(cloud, "get_cloud_from_metadata_endpoint"):
        return

    def get_cloud_from_metadata_endpoint(arm_endpoint, name=None, session=None):
        import requests  # pylint: disable=import-outside-toplevel  # honours REQUESTS_CA_BUNDLE
        base = arm_endpoint.rstrip("/")
        resp = (session or requests).get(base + "/metadata/endpoints?api-version=2022-09-01", timeout=30)
        resp.raise_for_status()
        clouds = resp.json()
        clouds = clouds if isinstance(clouds, list) else [clouds]
        chosen = next((c for c in clouds if str(c.get("resourceManager", "")).rstrip("/") == base), clouds[0])
        if name:
            chosen = dict(chosen, name=name)
        return cloud._arm_to_cli_mapper(chosen)  # pylint: disable=protected-access

    cloud.get_cloud_from_metadata_endpoint = get_cloud_from_metadata_endpoint


if os.environ.get("BENCH_AZ_METADATA_SHIM") == "1":
    _install()
