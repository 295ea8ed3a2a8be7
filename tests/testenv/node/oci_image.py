"""Write an OCI image archive that `ctr -n k8s.io images import` loads (no Docker, no registry).

    python3 oci_image.py --name docker.io/library/x:1 --config config.json --out x.tar LAYER.tar [LAYER.tar ...]

Each LAYER is an uncompressed tar of a filesystem tree (first = bottom). config.json holds the image's runtime
config (Entrypoint, Cmd, Env, User, WorkingDir, ExposedPorts, Volumes).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))


def write_image(name: str, config: dict, layers: list[Path], out: Path) -> str:
    digests = []
    for layer in layers:
        cached = layer.with_name(layer.name + ".sha256")
        if cached.exists() and cached.stat().st_mtime >= layer.stat().st_mtime:
            digests.append(cached.read_text().strip())
        else:
            digests.append(sha256_file(layer))
            cached.write_text(digests[-1] + "\n")
    image_config = {
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in digests]},
        "history": [{"created_by": f"tests/testenv/node layer {layer.name}"} for layer in layers],
    }
    config_bytes = json.dumps(image_config, sort_keys=True).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{config_digest}",
                   "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": f"sha256:{d}",
                    "size": layer.stat().st_size} for d, layer in zip(digests, layers)],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest = hashlib.sha256(manifest_bytes).hexdigest()
    index = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": f"sha256:{manifest_digest}", "size": len(manifest_bytes),
                       "annotations": {"io.containerd.image.name": name,
                                       "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}}],
    }
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w") as archive:
        add_bytes(archive, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add_bytes(archive, "index.json", json.dumps(index).encode())
        add_bytes(archive, f"blobs/sha256/{config_digest}", config_bytes)
        add_bytes(archive, f"blobs/sha256/{manifest_digest}", manifest_bytes)
        for digest, layer in zip(digests, layers):
            archive.add(layer, arcname=f"blobs/sha256/{digest}")
    partial.replace(out)
    return manifest_digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("layers", nargs="+", type=Path)
    args = parser.parse_args()
    print(write_image(args.name, json.loads(args.config.read_text()), args.layers, args.out))


if __name__ == "__main__":
    main()
