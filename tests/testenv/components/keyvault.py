"""Key Vault (secrets data plane) for the tests: the Key Vault test double in tests/testenv/keyvault_double.

No Key Vault emulator is served by a registry these machines reach (see the double's docstring: Lowkey Vault's
app is not on Maven Central, the Go and .NET emulators are not on the Go proxy or on a reachable registry), so
the project serves Key Vault's documented secrets REST API itself, to the real azure-keyvault-secrets client.

Two vaults, one port each, HTTPS with a fresh CA per start: TESTENV_KEYVAULT_URL (the test service principal may
read and write its secrets) and TESTENV_KEYVAULT_LOCKED_URL (no role assignment for anyone: 403 like Key Vault's
RBAC). Tokens come from the ARM double's Entra endpoint, so this component starts after `arm`.
TESTENV_KEYVAULT_CA_BUNDLE trusts both the vaults and the Entra endpoint (the ARM double's CA + this one).

The Secrets Store CSI driver's SecretProviderClass CRD (the real one, from the driver's Go module on the Go module
proxy, cached by version) is installed into the kwok cluster when one runs, so the chart's SecretProviderClass is
applied server-side against its real schema.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path

from .arm import write_certificates
from .base import Component, Context, TestEnvError, free_port, port_open, run, spawn, wait_until

SERVER = Path(__file__).resolve().parents[1] / "keyvault_double" / "server.py"
VAULT_NAME = "neo4jkvtest"
LOCKED_VAULT_NAME = "neo4jkvlocked"
RESOURCE_GROUP = "neo4j-testenv-rg"
CSI_DRIVER_MODULE = "sigs.k8s.io/secrets-store-csi-driver"
CSI_DRIVER_VERSION = "v1.5.4"
CRD_PATH = "config/crd/bases/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml"


def crd_file(cache_dir: Path) -> Path:
    return cache_dir / f"secrets-store-csi-driver-{CSI_DRIVER_VERSION}" / "secretproviderclasses-crd.yaml"


def fetch_crd(cache_dir: Path, log=print) -> Path:
    """The SecretProviderClass CRD of the driver's Go module, copied into the cache once."""
    target = crd_file(cache_dir)
    if target.exists():
        return target
    if not shutil.which("go"):
        raise TestEnvError("keyvault: go is missing (it fetches the Secrets Store CSI driver's CRD from the Go "
                           "module proxy); install Go 1.26")
    log(f"keyvault: go mod download {CSI_DRIVER_MODULE}@{CSI_DRIVER_VERSION} (its SecretProviderClass CRD)")
    # The checksum database (sum.golang.org) is not reachable from these machines: GOSUMDB=off.
    out = run(["go", "mod", "download", "-json", f"{CSI_DRIVER_MODULE}@{CSI_DRIVER_VERSION}"],
              "keyvault: go mod download", env={"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOSUMDB": "off"},
              cwd=cache_dir, timeout=600)
    source = Path(json.loads(out)["Dir"]) / CRD_PATH
    if not source.exists():
        raise TestEnvError(f"keyvault: {CRD_PATH} is not in {CSI_DRIVER_MODULE}@{CSI_DRIVER_VERSION}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_text(source.read_text())
    partial.replace(target)
    return target


def install_crd(ctx: Context) -> None:
    """Server-side apply of the CRD into the kwok cluster, when the environment has one."""
    kubeconfig, kubectl = ctx.env.get("KUBECONFIG"), ctx.env.get("KUBECTL_BIN") or shutil.which("kubectl")
    if not kubeconfig or not kubectl:
        return
    env = {"KUBECONFIG": kubeconfig}
    run([kubectl, "apply", "--server-side", "--field-manager", "testenv", "-f", crd_file(ctx.cache_dir)],
        "keyvault: install the SecretProviderClass CRD", env=env, timeout=120)
    run([kubectl, "wait", "--for=condition=Established", "--timeout=60s",
         "crd/secretproviderclasses.secrets-store.csi.x-k8s.io"], "keyvault: wait for the CRD", env=env, timeout=90)


def launch(workdir: Path, env: dict) -> dict:
    """Start one double (both vaults) with its state in workdir; return its pid, ports and TESTENV_* variables."""
    needed = ("TESTENV_ARM_ENDPOINT", "TESTENV_ARM_CA_BUNDLE", "TESTENV_AZURE_TENANT_ID", "TESTENV_AZURE_CLIENT_ID")
    missing = [name for name in needed if not env.get(name)]
    if missing:
        raise TestEnvError(f"keyvault: the ARM double must run first (missing {', '.join(missing)}); "
                           f"run `testenv.py up --only arm,keyvault`")
    workdir.mkdir(parents=True, exist_ok=True)
    log_file = workdir / "keyvault.log"
    ca_file, cert_file, key_file = write_certificates(workdir, "Key Vault test double CA")
    bundle = workdir / "ca-bundle.pem"
    bundle.write_text(Path(env["TESTENV_ARM_CA_BUNDLE"]).read_text() + ca_file.read_text())
    vaults = []
    for name, allowed in ((VAULT_NAME, [env["TESTENV_AZURE_CLIENT_ID"]]), (LOCKED_VAULT_NAME, [])):
        port = free_port()
        vaults.append({"name": name, "port": port, "url": f"https://127.0.0.1:{port}", "allowed": allowed})
    config = {
        "cert_file": str(cert_file), "key_file": str(key_file), "vaults": vaults,
        "authority": env.get("TESTENV_AZURE_AUTHORITY", env["TESTENV_ARM_ENDPOINT"]).rstrip("/"),
        "authority_ca_bundle": env["TESTENV_ARM_CA_BUNDLE"],
        "arm_endpoint": env["TESTENV_ARM_ENDPOINT"].rstrip("/"),
        "tenant_id": env["TESTENV_AZURE_TENANT_ID"], "client_id": env["TESTENV_AZURE_CLIENT_ID"],
        # The service principal's object id, named in a 403 when a token carries none (opaque tokens).
        "object_id": str(uuid.uuid5(uuid.NAMESPACE_URL, env["TESTENV_AZURE_CLIENT_ID"])),
        "subscription_id": env.get("TESTENV_AZURE_SUBSCRIPTION_ID", ""),
        "resource_group": RESOURCE_GROUP, "location": "westeurope",
    }
    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(config, indent=2))
    os.chmod(config_file, 0o600)
    pid = spawn([sys.executable, SERVER, "--config", config_file], log_file)
    for vault in vaults:
        wait_until(lambda port=vault["port"]: port_open(port), 30,
                   f"keyvault: vault {vault['name']} did not open its port", log_file, pid)
    return {
        "pid": pid,
        "ports": [vault["port"] for vault in vaults],
        "env": {
            "TESTENV_KEYVAULT_NAME": VAULT_NAME,
            "TESTENV_KEYVAULT_URL": vaults[0]["url"],
            "TESTENV_KEYVAULT_LOCKED_NAME": LOCKED_VAULT_NAME,
            "TESTENV_KEYVAULT_LOCKED_URL": vaults[1]["url"],
            "TESTENV_KEYVAULT_CA_BUNDLE": str(bundle),
        },
    }


class KeyVault(Component):
    name = "keyvault"

    def build(self, ctx: Context) -> None:
        fetch_crd(ctx.cache_dir, ctx.log)

    def start(self, ctx: Context) -> dict:
        install_crd(ctx)
        instance = launch(ctx.component_dir(self.name), ctx.env)
        return {"pids": [instance["pid"]], "ports": instance["ports"], "env": instance["env"],
                "arm_endpoint": ctx.env.get("TESTENV_ARM_ENDPOINT")}

    def is_running(self, ctx: Context, state: dict) -> bool:
        # A restarted ARM double has a new port and CA: the vaults must trust and ask the new one.
        return (super().is_running(ctx, state) and all(port_open(port) for port in state.get("ports", [0]))
                and state.get("arm_endpoint") == ctx.env.get("TESTENV_ARM_ENDPOINT"))
