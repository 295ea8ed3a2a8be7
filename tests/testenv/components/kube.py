"""A kwok Kubernetes cluster (binary runtime: real etcd, kube-apiserver, controller-manager, scheduler),
AKS-like simulated nodes, Azure-like StorageClasses, and helm 3 with the helm-diff plugin."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from .arm import ADMIN_GROUP_ID, AKS_SERVER_APP_ID, entra_identity
from .base import Component, Context, TestEnvError, run, wait_until

K8S_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok",
                "kwokctl", "helm", "kubelogin")
STAGES = sorted((Path(__file__).resolve().parents[1] / "kwok" / "stages").glob("*.yaml"))
HELM_DIFF_PLUGIN = Path(__file__).resolve().parents[1] / "helm-diff-plugin"

KWOKCTL_COMPONENTS = {
    "apiVersion": "config.kwok.x-k8s.io/v1alpha1", "kind": "KwokctlConfiguration",
    "componentsPatches": [{"name": "kwok-controller", "extraArgs": [
        {"key": "manage-all-nodes", "value": "false", "override": True},
        {"key": "manage-nodes-with-annotation-selector", "value": "kwok.x-k8s.io/node=fake"}]}],
}


def entra_authentication(identity: dict) -> dict:
    """kube-apiserver's structured authentication: the ARM double's Entra issuer, as AKS trusts Entra ID (tokens
    for the AKS server application; the user is the caller's object id, its groups the token's groups). The API
    server fetches the issuer's discovery document and keys over HTTPS with the double's CA, retrying every
    10 s until the double is up (it starts after this component)."""
    return {
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
        "jwt": [{
            "issuer": {"url": identity["issuer"], "audiences": [AKS_SERVER_APP_ID],
                       "certificateAuthority": Path(identity["ca_file"]).read_text()},
            "claimMappings": {"username": {"claim": "oid", "prefix": ""},
                              "groups": {"claim": "groups", "prefix": ""}},
        }],
    }


def admin_group_binding() -> dict:
    """AKS binds aadProfile.adminGroupObjectIDs to cluster-admin; the test SP is a member of ADMIN_GROUP_ID."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "aks-cluster-admin-binding-aad"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ADMIN_GROUP_ID}]}


NEO4J_POOL_TAINT = {"key": "workload", "value": "neo4j", "effect": "NoSchedule"}
SYSTEM_POOL_TAINT = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}


def aks_nodes() -> list[dict]:
    """Nodes labelled like an AKS cluster with a system pool, a user pool and a tainted Neo4j pool."""
    pools = [
        ("system", "System", "Standard_D4ds_v5", [1], [SYSTEM_POOL_TAINT], {}),
        ("user", "User", "Standard_D4ds_v5", [1], [], {}),
        ("neo4j", "User", "Standard_E8ds_v5", [1, 2, 3], [NEO4J_POOL_TAINT], {"workload": "neo4j"}),
    ]
    nodes = []
    for pool, mode, size, zones, taints, labels in pools:
        for index, zone in enumerate(zones):
            name = f"aks-{pool}-{10000000 + index}-vmss00000{index}"
            nodes.append({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": {
                        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                        "kubernetes.io/role": "agent", "type": "kwok", "agentpool": pool,
                        "kubernetes.azure.com/agentpool": pool, "kubernetes.azure.com/mode": mode.lower(),
                        "node.kubernetes.io/instance-type": size, "topology.kubernetes.io/region": "westeurope",
                        "topology.kubernetes.io/zone": f"westeurope-{zone}", **labels,
                    },
                },
                "spec": {"taints": taints},
                "status": {"allocatable": {"cpu": "8", "memory": "64Gi", "pods": "110"},
                           "capacity": {"cpu": "8", "memory": "64Gi", "pods": "110"}},
            })
    return nodes


def aks_storage_classes() -> list[dict]:
    """The StorageClasses AKS ships (managed-csi is the default); kwok's pvc-provision stage binds them."""
    def storage_class(name, sku, default=False):
        return {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name, "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true" if default else "false"}},
            "provisioner": "disk.csi.azure.com", "parameters": {"skuname": sku},
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True,
        }
    return [storage_class("managed-csi", "StandardSSD_LRS", default=True),
            storage_class("managed-csi-premium", "Premium_LRS")]


class Kube(Component):
    name = "kube"

    def build(self, ctx: Context) -> None:
        missing = [b for b in K8S_BINARIES if not (ctx.bin_dir / b).exists()]
        if missing:
            ctx.log(f"kube: building {missing} (cold build takes 20-40 min; cached afterwards)")
            script = ctx.repo / "tests" / "testenv" / "build-binaries.sh"
            proc = subprocess.run(["bash", str(script)], env={**os.environ, "NEO4J_AKS_CACHE": str(ctx.cache_dir)},
                                  check=False)
            if proc.returncode != 0:
                raise TestEnvError(f"kube: {script} failed (exit {proc.returncode}); its output above names the "
                                   "component; fix the Go toolchain or proxy access and run `make binaries` again")

    def _cluster_name(self, ctx: Context) -> str:
        # One cluster per checkout, so two clones on one machine never share a cluster.
        return "n4j-" + hashlib.sha256(str(ctx.state_dir).encode()).hexdigest()[:8]

    def _env(self, ctx: Context) -> dict:
        return {"KWOK_WORKDIR": str(ctx.component_dir(self.name) / "kwok"), "PATH": f"{ctx.bin_dir}:{os.environ['PATH']}"}

    def kubectl(self, ctx: Context, kubeconfig: Path, *args, input_text=None) -> str:
        return run([ctx.bin_dir / "kubectl", "--kubeconfig", kubeconfig, *args], f"kubectl {args[0]}",
                   input_text=input_text, timeout=120)

    def start(self, ctx: Context) -> dict:
        workdir = ctx.component_dir(self.name)
        kubeconfig = workdir / "kubeconfig"
        name = self._cluster_name(ctx)
        env = self._env(ctx)
        bins = ctx.bin_dir
        # A leftover cluster of the same name (crashed run) is removed first: up cleanly replaces it.
        subprocess.run([bins / "kwokctl", "delete", "cluster", "--name", name], env={**os.environ, **env},
                       capture_output=True, check=False)
        kubeconfig.unlink(missing_ok=True)
        # kwok simulates only the nodes annotated kwok.x-k8s.io/node=fake (all of aks_nodes()), so a real
        # kubelet node (components/node.py) is left to its kubelet.
        kwokctl_conf = workdir / "kwokctl-components.yaml"
        # The API server trusts the ARM double's Entra issuer (its port, CA and signing key are fixed here, before
        # the double starts: components/arm.py entra_identity).
        identity_dir = ctx.state_dir / "entra"
        identity = entra_identity(identity_dir)
        auth_config = workdir / "authentication-config.yaml"
        auth_config.write_text(json.dumps(entra_authentication(identity)))
        kwokctl = json.loads(json.dumps(KWOKCTL_COMPONENTS))
        kwokctl["componentsPatches"].append({"name": "kube-apiserver", "extraArgs": [
            {"key": "authentication-config", "value": str(auth_config)},
            # The real node's name does not resolve: reach its kubelet (logs, exec, port-forward) by address.
            {"key": "kubelet-preferred-address-types", "value": "InternalIP,Hostname"}]})
        kwokctl_conf.write_text(json.dumps(kwokctl))
        run([bins / "kwokctl", "create", "cluster", "--name", name, "--runtime", "binary",
             *[arg for stage in STAGES for arg in ("--config", stage)], "--config", kwokctl_conf,
             "--kubeconfig", kubeconfig,
             "--etcd-binary", bins / "etcd", "--kube-apiserver-binary", bins / "kube-apiserver",
             "--kube-controller-manager-binary", bins / "kube-controller-manager",
             "--kube-scheduler-binary", bins / "kube-scheduler", "--kwok-controller-binary", bins / "kwok",
             "--disable-qps-limits", "--wait", "3m"],
            "kube: kwokctl create cluster", env=env, timeout=300)
        os.chmod(kubeconfig, 0o600)
        manifests = {"apiVersion": "v1", "kind": "List",
                     "items": aks_nodes() + aks_storage_classes() + [admin_group_binding()]}
        self.kubectl(ctx, kubeconfig, "apply", "-f", "-", input_text=json.dumps(manifests))
        wait_until(lambda: self._nodes_ready(ctx, kubeconfig), 120, "kube: simulated nodes did not become Ready",
                   workdir / "kwok" / "clusters" / name / "logs" / "kwok-controller.log")
        plugins_dir = self._install_helm_diff(ctx)
        return {
            "cluster": name,
            "kubeconfig": str(kubeconfig),
            "env": {
                "KUBECONFIG": str(kubeconfig),
                "K8S_AUTH_KUBECONFIG": str(kubeconfig),
                "KWOK_WORKDIR": env["KWOK_WORKDIR"],
                "TESTENV_KWOK_CLUSTER": name,
                "HELM_BIN": str(bins / "helm"),
                "KUBECTL_BIN": str(bins / "kubectl"),
                "HELM_PLUGINS": str(plugins_dir),
                "TESTENV_ENTRA_IDENTITY_DIR": str(identity_dir),
                "TESTENV_AKS_ISSUER": identity["issuer"],
            },
        }

    def _nodes_ready(self, ctx: Context, kubeconfig: Path) -> bool:
        try:
            out = self.kubectl(ctx, kubeconfig, "get", "nodes", "-o", "json")
        except TestEnvError:
            return False
        nodes = json.loads(out)["items"]
        ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True"
                                         for c in n.get("status", {}).get("conditions", []))]
        return len(nodes) >= 5 and len(ready) == len(nodes)

    def _install_helm_diff(self, ctx: Context) -> Path:
        """Install the helm-diff-compatible plugin into this checkout's own HELM_PLUGINS directory."""
        plugins_dir = ctx.component_dir(self.name) / "helm-plugins"
        env = {"HELM_PLUGINS": str(plugins_dir)}
        helm = ctx.bin_dir / "helm"
        listed = run([helm, "plugin", "list"], "helm plugin list", env=env)
        if not any(line.split()[:1] == ["diff"] for line in listed.splitlines()[1:]):
            run([helm, "plugin", "install", HELM_DIFF_PLUGIN], "helm plugin install (helm-diff)", env=env)
        return plugins_dir

    def is_running(self, ctx: Context, state: dict) -> bool:
        try:
            return self.kubectl(ctx, Path(state["kubeconfig"]), "get", "--raw", "/readyz").strip() == "ok"
        except (TestEnvError, KeyError):
            return False

    def stop(self, ctx: Context, state: dict) -> None:
        name = state.get("cluster") or self._cluster_name(ctx)
        subprocess.run([ctx.bin_dir / "kwokctl", "delete", "cluster", "--name", name],
                       env={**os.environ, **self._env(ctx)}, capture_output=True, check=False)
        # kwokctl leaves no process when delete succeeds; make sure of it for crashed runs.
        workdir = str(ctx.component_dir(self.name))
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if workdir in cmdline:
                    try:
                        os.kill(int(proc.name), 9)
                    except OSError:
                        pass
