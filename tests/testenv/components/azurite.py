"""Azurite, the Azure Storage emulator (Blob service only), from npm into the cache."""

from __future__ import annotations

import shutil

from .base import Component, Context, TestEnvError, free_port, host_ip, port_open, run, spawn, wait_until

AZURITE_VERSION = "3.35.0"  # 3.36+ need Node 21/22; the machines have Node 20
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Azurite(Component):
    name = "azurite"

    def _home(self, ctx: Context):
        return ctx.cache_dir / f"azurite-{AZURITE_VERSION}"

    def build(self, ctx: Context) -> None:
        home = self._home(ctx)
        if (home / "node_modules" / ".bin" / "azurite-blob").exists():
            return
        if not shutil.which("npm"):
            raise TestEnvError("azurite: npm is missing; install Node.js 18/20 with npm (apt-get install nodejs npm)")
        ctx.log(f"azurite: npm install azurite@{AZURITE_VERSION}")
        home.mkdir(parents=True, exist_ok=True)
        run(["npm", "install", "--no-audit", "--no-fund", "--prefix", home, f"azurite@{AZURITE_VERSION}"],
            "azurite: npm install", timeout=900)

    def start(self, ctx: Context) -> dict:
        workdir = ctx.component_dir(self.name)
        log_file = workdir / "azurite.log"
        port = free_port()
        # All addresses: the backup and restore Jobs on the real node reach it at the host's address (in-memory data,
        # the public development key: nothing to protect).
        pid = spawn([self._home(ctx) / "node_modules" / ".bin" / "azurite-blob", "--blobHost", "0.0.0.0",
                     "--blobPort", str(port), "--disableTelemetry", "--inMemoryPersistence", "--skipApiVersionCheck",
                     "--loose"], log_file)
        wait_until(lambda: port_open(port), 60, "azurite (Blob) did not open its port", log_file, pid)
        endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
        try:
            pod_endpoint = f"http://{host_ip()}:{port}/{ACCOUNT}"
        except TestEnvError:
            pod_endpoint = ""
        return {
            "pids": [pid],
            "port": port,
            "env": {
                "AZURE_STORAGE_BLOB_ENDPOINT": endpoint,
                "AZURE_STORAGE_ACCOUNT": ACCOUNT,
                "AZURE_STORAGE_KEY": ACCOUNT_KEY,
                "AZURE_STORAGE_CONNECTION_STRING": (
                    f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                    f"BlobEndpoint={endpoint};"),
                # What a pod on the real node uses (loopback there is the pod's own).
                "TESTENV_POD_BLOB_ENDPOINT": pod_endpoint,
                "TESTENV_POD_STORAGE_CONNECTION_STRING": (
                    f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                    f"BlobEndpoint={pod_endpoint};") if pod_endpoint else "",
            },
        }
