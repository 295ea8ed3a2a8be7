"""The ARM test double (tests/testenv/arm_double): Resource Manager + Entra ID token endpoint over HTTPS.

A CA and a server certificate for 127.0.0.1 are generated at each start (azure-core refuses bearer tokens
over plain http); clients trust the CA through TESTENV_ARM_CA_BUNDLE. The service principal's secret is
random per start. Plain AZURE_* variables are deliberately not exported (tests of missing credentials rely
on them being unset).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
import sys
import uuid
from pathlib import Path

from .base import Component, Context, TestEnvError, free_port, port_open, spawn, wait_until

SERVER = Path(__file__).resolve().parents[1] / "arm_double" / "server.py"
SUBSCRIPTION_ID = "3f2c6a8e-0d4b-4e1a-9c55-7a1b2c3d4e5f"
TENANT_ID = "b7e1d2c3-4f5a-4b6c-8d9e-0a1b2c3d4e5f"
CLIENT_ID = "5c9e2f1a-7b3d-4c8e-9f0a-1b2c3d4e5f60"
# The AKS server application (the audience of the tokens kubelogin gets) and the test SP's admin group: the
# kube component binds this group to cluster-admin, as AKS does for aadProfile.adminGroupObjectIDs.
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
ADMIN_GROUP_ID = "0f3c2b1a-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
# The resource group inventories/local deploys (infra_resource_group's default for environment local): its
# Entra ID cluster's listClusterUserCredential answers AKS's kubelogin exec kubeconfig from the shared double's
# start, so site.yml, backup.yml and restore.yml on inventories/local log in through kubelogin. Other groups opt in
# through POST /_testenv/entra/exec-kubeconfig.
LOCAL_RESOURCE_GROUP = "neo4j-local-rg"


def write_certificates(workdir: Path, ca_common_name: str = "ARM test double CA") -> tuple:
    """A throw-away CA and a 127.0.0.1/localhost server certificate signed by it (PEM files). CAs of two
    services trusted in one bundle need different names (OpenSSL picks the issuer by name)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as err:
        raise TestEnvError("arm: the 'cryptography' package is missing from the venv (pip install cryptography)") \
            from err
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_common_name)])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False),
                              critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = workdir / "ca.pem", workdir / "server.pem", workdir / "server-key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_file, 0o600)
    return ca_file, cert_file, key_file


def _write_signing_key(path: Path) -> Path:
    """The RSA key the double signs its Entra access tokens with (RS256; the public half is at jwks_uri)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return path


def entra_identity(directory: Path) -> dict:
    """The shared double's fixed identity (port, TLS CA and certificate, token-signing key), made once per state
    dir before the kube component starts: its API server trusts the issuer https://127.0.0.1:PORT/TENANT/v2.0
    with this CA from its first start, and every later start of the shared double serves that issuer again."""
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / "identity.json"
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    if record.exists():
        identity = json.loads(record.read_text())
        if identity.get("expires", 0) > now + 86400 and all(
                Path(identity[k]).exists() for k in ("ca_file", "cert_file", "key_file", "signing_key")):
            return identity
    ca_file, cert_file, key_file = write_certificates(directory, "ARM test double Entra CA")
    port = free_port()
    identity = {"port": port, "ca_file": str(ca_file), "cert_file": str(cert_file), "key_file": str(key_file),
                "signing_key": str(_write_signing_key(directory / "signing-key.pem")),
                "issuer": f"https://127.0.0.1:{port}/{TENANT_ID}/v2.0", "expires": now + 29 * 86400}
    record.write_text(json.dumps(identity, indent=2))
    return identity


def launch(workdir: Path, kubeconfig: str = "", identity: dict | None = None) -> dict:
    """Start one double with its state in workdir (fresh CA, port and secret); return its pid, port and the
    TESTENV_* variables that point clients at it. The shared instance and private ones (the bench's, a test's
    that resets state) start the same way."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_file = workdir / "arm.log"
    if identity:  # the shared double: the issuer the kube API server trusts
        ca_file, cert_file, key_file = (Path(identity[k]) for k in ("ca_file", "cert_file", "key_file"))
        port, signing_key = identity["port"], Path(identity["signing_key"])
    else:
        ca_file, cert_file, key_file = write_certificates(workdir)
        port, signing_key = free_port(), _write_signing_key(workdir / "signing-key.pem")
    endpoint = f"https://127.0.0.1:{port}"
    config = {
        "port": port,
        "endpoint": endpoint,
        "cert_file": str(cert_file),
        "key_file": str(key_file),
        "subscription_id": SUBSCRIPTION_ID,
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "client_secret": "arm-double-" + secrets.token_urlsafe(24),
        "federated_token": "federated-" + secrets.token_urlsafe(24),
        "kubeconfig": kubeconfig,
        "signing_key": str(signing_key),
        "admin_group_id": ADMIN_GROUP_ID,
        # Only the shared double's issuer is trusted by the kube API server: private doubles answer certificates.
        "exec_kubeconfig_resource_groups": [LOCAL_RESOURCE_GROUP] if identity else [],
        "retry_after": 1,
    }
    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(config, indent=2))
    os.chmod(config_file, 0o600)
    pid = spawn([sys.executable, SERVER, "--config", config_file], log_file)
    wait_until(lambda: port_open(port), 30, "arm: the ARM test double did not open its port", log_file, pid)
    return {
        "pid": pid,
        "port": port,
        "env": {
            "TESTENV_ARM_ENDPOINT": endpoint,
            "TESTENV_ARM_CA_BUNDLE": str(ca_file),
            "TESTENV_AZURE_AUTHORITY": endpoint,
            "TESTENV_AZURE_TENANT_ID": TENANT_ID,
            "TESTENV_AZURE_CLIENT_ID": CLIENT_ID,
            "TESTENV_AZURE_CLIENT_SECRET": config["client_secret"],
            "TESTENV_AZURE_FEDERATED_TOKEN": config["federated_token"],
            "TESTENV_AZURE_SUBSCRIPTION_ID": SUBSCRIPTION_ID,
            "TESTENV_ARM_RUN_ID": uuid.uuid4().hex[:8],
            "TESTENV_AKS_ADMIN_GROUP_ID": ADMIN_GROUP_ID,
        },
    }


class ArmDouble(Component):
    name = "arm"

    def start(self, ctx: Context) -> dict:
        identity_dir = ctx.env.get("TESTENV_ENTRA_IDENTITY_DIR")
        instance = launch(ctx.component_dir(self.name), ctx.env.get("KUBECONFIG", ""),
                          entra_identity(Path(identity_dir)) if identity_dir else None)
        return {"pids": [instance["pid"]], "port": instance["port"], "env": instance["env"]}

    def is_running(self, ctx: Context, state: dict) -> bool:
        return super().is_running(ctx, state) and port_open(state.get("port", 0))
