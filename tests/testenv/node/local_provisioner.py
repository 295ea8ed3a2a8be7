"""A small dynamic provisioner of local volumes for the test environment's real node.

It acts for the PVCs of one StorageClass (the class the neo4j role creates for the real node) that the scheduler
placed on this node (annotation volume.kubernetes.io/selected-node, WaitForFirstConsumer) or, for an Immediate
class, for every such PVC. For each one it makes a directory <root>/<pv-name> owned 7474:7474 (mode 2775, so the
pod's fsGroup 7474 writes it even where kubelet does not re-own), and a `local` PersistentVolume pinned to the node,
pre-bound to the claim, with the class's reclaimPolicy. When a claim goes, a Retain volume stays Released with its
data (an operator, or the neo4j role's reinstall, rebinds it); a Delete volume and its directory are removed.
A grown request is applied to the PV and the claim's status (a directory has no size to grow).

    python local_provisioner.py --kubeconfig K --node N --storage-class C --root DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROVISIONER = "testenv.neo4j-azure-aks/local"
OWNER = 7474


class Provisioner:
    def __init__(self, kubeconfig: str, node: str, storage_class: str, root: Path):
        self.kubectl = [os.environ.get("KUBECTL_BIN", "kubectl"), "--kubeconfig", kubeconfig, "--request-timeout",
                        "10s"]
        self.node, self.storage_class, self.root = node, storage_class, root
        self.root.mkdir(parents=True, exist_ok=True)

    def _get(self, *args) -> dict:
        out = subprocess.run(self.kubectl + ["get", *args, "-o", "json"], capture_output=True, text=True,
                             check=False)
        return json.loads(out.stdout) if out.returncode == 0 else {}

    def _apply(self, obj: dict, *extra) -> None:
        proc = subprocess.run(self.kubectl + ["apply", *extra, "-f", "-"], input=json.dumps(obj), text=True,
                              capture_output=True, check=False)
        if proc.returncode != 0:
            log(f"apply {obj['kind']} {obj['metadata']['name']} failed: {proc.stderr.strip()}")

    def once(self) -> None:
        klass = self._get("storageclass", self.storage_class)
        if not klass:
            return
        reclaim = klass.get("reclaimPolicy", "Delete")
        immediate = klass.get("volumeBindingMode", "Immediate") == "Immediate"
        pvs = {pv["metadata"]["name"]: pv for pv in self._get("pv").get("items", [])
               if pv["metadata"].get("annotations", {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER}
        for pvc in self._get("pvc", "-A").get("items", []):
            if pvc["spec"].get("storageClassName") != self.storage_class or pvc["metadata"].get("deletionTimestamp"):
                continue
            selected = pvc["metadata"].get("annotations", {}).get("volume.kubernetes.io/selected-node")
            name = "pvc-" + pvc["metadata"]["uid"]
            if pvc["spec"].get("volumeName"):
                self._resize(pvc, pvs.get(pvc["spec"]["volumeName"]))
            elif name not in pvs and (selected == self.node or (immediate and not selected)):
                self._provision(pvc, name, reclaim)
        for pv in pvs.values():
            if pv.get("status", {}).get("phase") == "Released" and pv["spec"]["persistentVolumeReclaimPolicy"] == \
                    "Delete":
                subprocess.run(self.kubectl + ["delete", "pv", pv["metadata"]["name"], "--wait=false"],
                               capture_output=True, check=False)
                shutil.rmtree(pv["spec"]["local"]["path"], ignore_errors=True)
                log(f"deleted {pv['metadata']['name']} (reclaimPolicy Delete)")

    def _provision(self, pvc: dict, name: str, reclaim: str) -> None:
        path = self.root / name
        path.mkdir(mode=0o2775, exist_ok=True)
        os.chown(path, OWNER, OWNER)
        os.chmod(path, 0o2775)
        meta = pvc["metadata"]
        self._apply({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
                         "labels": {"testenv.neo4j-azure-aks/local-volume": "true"}},
            "spec": {
                "capacity": {"storage": pvc["spec"]["resources"]["requests"]["storage"]},
                "accessModes": pvc["spec"]["accessModes"], "volumeMode": "Filesystem",
                "persistentVolumeReclaimPolicy": reclaim, "storageClassName": self.storage_class,
                "local": {"path": str(path)},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": meta["name"],
                             "namespace": meta["namespace"], "uid": meta["uid"]},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [self.node]}]}]}},
            },
        })
        log(f"provisioned {name} for {meta['namespace']}/{meta['name']} at {path} (reclaim {reclaim})")

    def _resize(self, pvc: dict, pv: dict | None) -> None:
        if not pv:
            return
        want = pvc["spec"]["resources"]["requests"]["storage"]
        if pv["spec"]["capacity"]["storage"] != want:
            subprocess.run(self.kubectl + ["patch", "pv", pv["metadata"]["name"], "--type", "merge", "-p",
                                           json.dumps({"spec": {"capacity": {"storage": want}}})],
                           capture_output=True, check=False)
        if pvc.get("status", {}).get("capacity", {}).get("storage") != want:
            subprocess.run(self.kubectl + ["patch", "pvc", "-n", pvc["metadata"]["namespace"],
                                           pvc["metadata"]["name"], "--subresource", "status", "--type", "merge",
                                           "-p", json.dumps({"status": {"capacity": {"storage": want}}})],
                           capture_output=True, check=False)
            log(f"resized {pvc['metadata']['namespace']}/{pvc['metadata']['name']} to {want}")


def log(msg: str) -> None:
    print(f"[local-provisioner] {time.strftime('%H:%M:%S')} {msg}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--storage-class", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    prov = Provisioner(args.kubeconfig, args.node, args.storage_class, args.root)
    log(f"acting for StorageClass {args.storage_class} on node {args.node}, volumes under {args.root}")
    while True:
        try:
            prov.once()
        except (OSError, ValueError, KeyError) as err:
            log(f"error: {err!r}")
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
