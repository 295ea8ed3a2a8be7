"""One real Kubernetes node beside the simulated ones: containerd + runc + CNI bridge from Debian, kubelet v1.36.3.

Pods scheduled here really run: the Neo4j chart's pods start the locally built Neo4j fixture image
(tests/testenv/node/build-images.sh) and keep their data on local volumes of tests/testenv/node/local_provisioner.py.

The node is labelled and tainted like a node of the AKS Neo4j pool (agentpool=neo4j, workload=neo4j:NoSchedule),
plus the label and taint ``testenv.neo4j-azure-aks/real-node=true`` (NoSchedule): the simulated Neo4j pool nodes
carry the same pool labels, so a release meant for the real node tolerates that taint and adds
``kubernetes.io/hostname: <TESTENV_REAL_NODE>`` to its nodeSelector (TESTENV_REAL_NODE_VALUES holds those values).
kwok manages only nodes annotated ``kwok.x-k8s.io/node=fake`` (components/kube.py), so this node is the kubelet's.

Cluster DNS: CoreDNS (built from the Go module proxy, tests/testenv/build-binaries.sh) serves the node's pods on
<host address>:53 with the Corefile of an AKS cluster (kubernetes plugin for cluster.local and the reverse zones,
the rest forwarded to the host's resolver); kubelet's clusterDNS points there and its clusterDomain is cluster.local.
Without it every lookup a pod makes waits for the host's resolver, which pods cannot reach: each Neo4j start lost
20 s to two such timeouts (the advertised address). When CoreDNS cannot be built or does not answer (port 53 of
the address taken) the node still starts without it, the reason is logged and TESTENV_CLUSTER_DNS_UNAVAILABLE names it.

Storage: PVCs of the StorageClass ``unprovisioned-local-neo4j`` (the name kwok's simulated provisioner skips) that the
scheduler placed on this node get a ``local`` PersistentVolume under <state>/node/volumes, owned 7474:7474, with the
class's reclaimPolicy (the neo4j role's class is Retain).

What `up` changes on the host, and what `down` restores:
  * apt packages containerd, runc, containernetworking-plugins, debootstrap, iptables (kept; install-host-packages.sh);
  * kubelet runs with protectKernelDefaults: false and sets vm.overcommit_memory=1, vm.panic_on_oom=0,
    kernel.panic=10, kernel.panic_on_oops=1, kernel.keys.root_maxkeys/maxbytes; the values found before the first
    start are saved in <state>/node/host-sysctls.json and written back by `down` (protectKernelDefaults: true would
    make kubelet refuse to start on this VM, whose kernel.panic is 1);
  * a cgroup ``/n4j-<hash>`` in every mounted v1 controller (kubelet's cgroupRoot), removed by `down`;
  * a bridge ``n4j<hash>`` with a 10.<x>.<y>.0/24 pod network (no masquerading, no portmap: no iptables rules);
    kubelet's own chains (KUBE-FIREWALL with its INPUT/OUTPUT jumps, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT)
    are removed when no kubelet is left;
  * processes (containerd, its shims, kubelet, the provisioner, CoreDNS), mounts (volumes, rootfs overlays, netns) and
    network namespaces all live under <state>/node; `down` stops and unmounts every one of them.
kubelet's API (port picked free, on the host's address) allows anonymous access: kwokctl's apiserver has no kubelet
client certificate, and port-forward/logs/exec go through it. Set TESTENV_REAL_NODE=0 to skip the node.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from .base import (Component, Context, TestEnvError, free_port, host_ip, kill_group, pid_alive, run, spawn,
                   wait_until)
from .neo4j_server import NEO4J_VERSION, build_lib

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
NODE_NAME = "aks-neo4jreal-20000000-vmss000000"
STORAGE_CLASS = "unprovisioned-local-neo4j"
NODE_IMAGE = "docker.io/library/neo4j-fixture:" + NEO4J_VERSION
PAUSE_IMAGE = "docker.io/library/testenv-pause:1.0"
NODE_LABELS = {
    "agentpool": "neo4j", "kubernetes.azure.com/agentpool": "neo4j", "kubernetes.azure.com/mode": "user",
    "workload": "neo4j", "node.kubernetes.io/instance-type": "Standard_E8ds_v5",
    "topology.kubernetes.io/region": "westeurope", "topology.kubernetes.io/zone": "westeurope-1",
    "testenv.neo4j-azure-aks/real-node": "true", "type": "real",
}
# The AKS Neo4j pool's taint, plus one of the test environment: only pods that ask for the real node (toleration
# and nodeSelector kubernetes.io/hostname) land here; the kwok-path tests' pods stay on the simulated nodes.
REAL_NODE_TAINTS = [{"key": "workload", "value": "neo4j", "effect": "NoSchedule"},
                    {"key": "testenv.neo4j-azure-aks/real-node", "value": "true", "effect": "NoSchedule"}]
LABELS_AFTER_REGISTRATION = {"kubernetes.io/role": "agent"}  # kubelet refuses kubernetes.io/role itself
SYSCTLS = ("vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
           "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes")
CANARY_CHAINS = (("mangle", "KUBE-IPTABLES-HINT"), ("mangle", "KUBE-KUBELET-CANARY"),
                 ("nat", "KUBE-KUBELET-CANARY"), ("filter", "KUBE-KUBELET-CANARY"))
HOST_PACKAGES = ("containerd", "runc", "ctr")


def real_node_values() -> dict:
    """Chart values that put a release on the real node with the fixture image."""
    return {
        "image": {"repository": NODE_IMAGE.rsplit("/", 1)[-1].split(":")[0], "tag": NEO4J_VERSION,
                  "pullPolicy": "IfNotPresent"},
        "persistence": {"storageClassName": STORAGE_CLASS},
        "scheduling": {"nodeSelector": {"agentpool": "neo4j", "kubernetes.io/hostname": NODE_NAME},
                       "tolerations": [{"key": t["key"], "operator": "Equal", "value": t["value"],
                                        "effect": t["effect"]} for t in REAL_NODE_TAINTS]},
    }


def enabled() -> bool:
    return os.environ.get("TESTENV_REAL_NODE", "1") not in ("0", "false", "no")


def _key(ctx: Context) -> str:
    return hashlib.sha256(str(ctx.state_dir).encode()).hexdigest()[:8]


def _host_ip() -> str:
    """The host's address on its default route (kubelet refuses a loopback node IP)."""
    try:
        return host_ip()
    except TestEnvError as err:
        raise TestEnvError(f"node: {err}: the kubelet needs one") from err


def _cgroup_controllers(with_unified: bool = False) -> list[Path]:
    """The mounted cgroup v1 hierarchies (kubelet needs its cgroupRoot in each); with_unified adds the hybrid
    layout's cgroup2 mount, where runc creates the same paths (cleaned up by `down`)."""
    types = ("cgroup", "cgroup2") if with_unified else ("cgroup",)
    mounts = []
    for line in Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields[2] in types:
            mounts.append(Path(fields[1]))
    return mounts


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def _mounts_under(prefix: str) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def _procs_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _dns_answers(server: str, name: str) -> bool:
    """True when the DNS server at <server>:53 answers an A query for name with NOERROR and an address."""
    query = struct.pack(">HHHHHH", 0x4e34, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query += struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        try:
            sock.sendto(query, (server, 53))
            reply = sock.recv(512)
        except OSError:
            return False
    return len(reply) > 12 and reply[:2] == query[:2] and reply[3] & 0x0F == 0 and reply[7] > 0


class Node(Component):
    name = "node"

    def __init__(self):
        self.images: dict = {}
        self.azcli_error = None
        self.build_error: str | None = None
        self.dns_error: str | None = None

    # --- paths --------------------------------------------------------------------------------------------------
    def _dir(self, ctx: Context) -> Path:
        return ctx.component_dir(self.name)

    def _sock(self, ctx: Context) -> Path:
        return self._dir(ctx) / "containerd" / "containerd.sock"

    def _bridge(self, ctx: Context) -> str:
        return "n4j" + _key(ctx)

    def _subnet(self, ctx: Context) -> str:
        digest = int(_key(ctx), 16)
        return f"10.{200 + digest % 50}.{(digest >> 8) % 256}.0/24"

    def ctr(self, ctx: Context, *args, timeout: float = 600) -> str:
        return run(["ctr", "--address", self._sock(ctx), "-n", "k8s.io", *args], f"node: ctr {args[0]}",
                   timeout=timeout)

    # --- build --------------------------------------------------------------------------------------------------
    def build(self, ctx: Context) -> None:
        self.build_error = None
        if not enabled():
            return
        try:
            self._build(ctx)
        except TestEnvError as err:
            self.build_error = str(err)

    def _build(self, ctx: Context) -> None:
        self._preflight()
        if not (ctx.bin_dir / "kubelet").exists():
            ctx.log("node: building kubelet (cold: about 5-10 min; cached afterwards)")
            self._script(ctx, ["bash", ctx.repo / "tests/testenv/build-binaries.sh", "kubelet"], "build kubelet")
        self.dns_error = None
        if not (ctx.bin_dir / "coredns").exists():
            ctx.log("node: building CoreDNS (cold: about 2 min; cached afterwards)")
            try:
                self._script(ctx, ["bash", ctx.repo / "tests/testenv/build-binaries.sh", "coredns"], "build CoreDNS")
            except TestEnvError as err:
                self.dns_error = str(err)
        build_lib(ctx.cache_dir, log=ctx.log)
        out = self._script(ctx, ["bash", NODE_DIR / "build-images.sh", "pause", "neo4j"], "build the node images")
        self.images = dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)
        # The backup/restore Jobs' Azure CLI image: without it the node still runs Neo4j, and the tests of those
        # Jobs skip with this reason.
        self.azcli_error = None
        try:
            out = self._script(ctx, ["bash", NODE_DIR / "build-images.sh", "azcli"], "build the Azure CLI image")
            self.images.update(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)
        except TestEnvError as err:
            self.azcli_error = str(err)

    def _script(self, ctx: Context, cmd: list, step: str) -> str:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False,
                              env={**os.environ, "NEO4J_AKS_CACHE": str(ctx.cache_dir), "NEO4J_VERSION": NEO4J_VERSION})
        sys.stderr.write(proc.stderr)
        if proc.returncode != 0:
            raise TestEnvError(f"node: {step} failed (exit {proc.returncode}): {proc.stderr.strip()[-1500:]}")
        return proc.stdout

    def _preflight(self) -> None:
        if os.geteuid() != 0:
            raise TestEnvError("node: the real node needs root (containerd, kubelet, mounts); run as root or set "
                               "TESTENV_REAL_NODE=0 to keep the simulated nodes only")
        if not all(shutil.which(b) for b in HOST_PACKAGES) or not Path("/usr/lib/cni/bridge").exists() \
                or not shutil.which("debootstrap"):
            proc = subprocess.run(["bash", str(NODE_DIR / "install-host-packages.sh")], capture_output=True,
                                  text=True, check=False)
            if proc.returncode != 0:
                raise TestEnvError(f"node: install host packages: {proc.stderr.strip()}")
        controllers = {p.name for p in _cgroup_controllers()}
        missing = {"cpu", "memory", "pids", "cpuset"} - {c for name in controllers for c in name.split(",")}
        if missing:
            raise TestEnvError(f"node: cgroup v1 controllers {sorted(missing)} are not mounted under /sys/fs/cgroup; "
                               "kubelet needs them (mount them or set TESTENV_REAL_NODE=0)")

    # --- start --------------------------------------------------------------------------------------------------
    def start(self, ctx: Context) -> dict:
        """Start the node; a step that cannot work here is reported (logged, and named in
        TESTENV_REAL_NODE_UNAVAILABLE for the real-pod tests to skip with) and the rest of the environment goes on."""
        if not enabled():
            return {"disabled": "TESTENV_REAL_NODE=0", "pids": [],
                    "env": {"TESTENV_REAL_NODE_UNAVAILABLE": "the real node is turned off (TESTENV_REAL_NODE=0)"}}
        if self.build_error:
            return self._unavailable(ctx, self.build_error)
        try:
            self._check_kwok(ctx)
            return self._start(ctx)
        except TestEnvError as err:
            self._cleanup(ctx, {})
            return self._unavailable(ctx, str(err))

    def _unavailable(self, ctx: Context, reason: str) -> dict:
        ctx.log(f"node: NO REAL NODE: {reason}")
        return {"unavailable": reason, "pids": [], "env": {"TESTENV_REAL_NODE_UNAVAILABLE": reason}}

    def _check_kwok(self, ctx: Context) -> None:
        kube_dir = str(ctx.state_dir / "kube")
        cmdlines = [Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
                    for p in _procs_mentioning(kube_dir)]
        args = [c.split("\0") for c in cmdlines if "kwok-controller" in c]
        if not args or not all("--manage-all-nodes=false" in a for a in args):
            raise TestEnvError("node: kwok of this environment manages all nodes (started before kwok was limited to "
                               "the simulated ones); restart it: testenv.py down && testenv.py up")

    def _start(self, ctx: Context) -> dict:
        kubeconfig = ctx.env.get("KUBECONFIG")
        if not kubeconfig:
            raise TestEnvError("node: the kube component must run first (KUBECONFIG unknown)")
        base = self._dir(ctx)
        self._cleanup(ctx, {})  # leftovers of a crashed run
        self._save_sysctls(ctx)
        cgroup_root = "/n4j-" + _key(ctx)
        for controller in _cgroup_controllers():
            (controller / cgroup_root.lstrip("/")).mkdir(exist_ok=True)
        containerd_pid = self._start_containerd(ctx)
        images = self.images
        listed = self.ctr(ctx, "images", "ls", "-q")
        for image, archive in images.items():
            marker = base / f"imported-{Path(archive).name}"
            if image not in listed.split() or not marker.exists():
                ctx.log(f"node: importing {image}")
                self.ctr(ctx, "images", "import", archive)
                marker.touch()
        node_ip = _host_ip()
        kubelet_port, healthz_port = free_port(), free_port()
        self._write_cni(ctx)
        dns_pid = None
        if not self.dns_error:
            try:
                dns_pid = self._start_dns(ctx, node_ip, kubeconfig)
            except TestEnvError as err:  # e.g. port 53 of this address taken by another environment's CoreDNS
                self.dns_error = str(err)
        if self.dns_error:
            ctx.log(f"node: NO CLUSTER DNS (every lookup in a pod waits for a timeout): {self.dns_error}")
        config = self._write_kubelet_config(ctx, cgroup_root, node_ip, kubelet_port, healthz_port,
                                            dns=dns_pid is not None)
        log = base / "kubelet.log"
        kubelet_pid = spawn([ctx.bin_dir / "kubelet", "--config", config, "--kubeconfig", kubeconfig,
                             "--root-dir", base / "kubelet", "--hostname-override", NODE_NAME,
                             "--node-ip", node_ip, "--v", "1",
                             "--node-labels", ",".join(f"{k}={v}" for k, v in NODE_LABELS.items())], log)
        kubectl = [ctx.bin_dir / "kubectl", "--kubeconfig", kubeconfig]
        wait_until(lambda: self._node_ready(kubectl), 120, "node: kubelet did not register a Ready node", log,
                   kubelet_pid, interval=1)
        run([*kubectl, "label", "node", NODE_NAME, "--overwrite",
             *[f"{k}={v}" for k, v in LABELS_AFTER_REGISTRATION.items()]], "node: label the node")
        prov_log = base / "provisioner.log"
        prov_pid = spawn([sys.executable, NODE_DIR / "local_provisioner.py", "--kubeconfig", kubeconfig,
                          "--node", NODE_NAME, "--storage-class", STORAGE_CLASS, "--root", base / "volumes"], prov_log)
        return {
            "pids": [containerd_pid, kubelet_pid, prov_pid] + ([dns_pid] if dns_pid else []), "node": NODE_NAME,
            "bridge": self._bridge(ctx),
            "subnet": self._subnet(ctx), "cgroup_root": cgroup_root, "kubelet_port": kubelet_port,
            "env": {"TESTENV_REAL_NODE": NODE_NAME, "TESTENV_REAL_NODE_STORAGE_CLASS": STORAGE_CLASS,
                    "TESTENV_REAL_NODE_IMAGE": NODE_IMAGE, "TESTENV_REAL_NODE_VALUES": json.dumps(real_node_values()),
                    "TESTENV_REAL_NODE_AZCLI_IMAGE": next((i for i in self.images if "/azure-cli-fixture:" in i), ""),
                    "TESTENV_REAL_NODE_AZCLI_UNAVAILABLE": self.azcli_error or "",
                    "TESTENV_CLUSTER_DNS": f"{node_ip}:53" if dns_pid else "",
                    "TESTENV_CLUSTER_DNS_UNAVAILABLE": self.dns_error or "",
                    "TESTENV_REAL_NODE_CONTAINERD": str(self._sock(ctx))},
        }

    def _save_sysctls(self, ctx: Context) -> None:
        saved = self._dir(ctx) / "host-sysctls.json"
        if not saved.exists():
            values = {n: _sysctl_path(n).read_text(encoding="utf-8").strip() for n in SYSCTLS}
            saved.write_text(json.dumps(values, indent=1))

    def _start_containerd(self, ctx: Context) -> int:
        base = self._dir(ctx) / "containerd"
        for sub in ("root", "state"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        cni = self._dir(ctx) / "cni"
        config = base / "config.toml"
        config.write_text(f"""version = 2
root = "{base / 'root'}"
state = "{base / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{self._sock(ctx)}"
[ttrpc]
  address = "{base / 'containerd.ttrpc.sock'}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # The VM lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj, every sandbox would fail otherwise.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{base / 'runc'}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni / 'net.d'}"
""")
        log = self._dir(ctx) / "containerd.log"
        pid = spawn(["containerd", "--config", config], log)
        wait_until(lambda: self._sock(ctx).exists() and self._ctr_ok(ctx), 60, "node: containerd did not start", log,
                   pid)
        return pid

    def _ctr_ok(self, ctx: Context) -> bool:
        try:
            self.ctr(ctx, "version", timeout=10)
            return True
        except TestEnvError:
            return False

    def _start_dns(self, ctx: Context, node_ip: str, kubeconfig: str) -> int:
        """CoreDNS on <node_ip>:53 with an AKS cluster's Corefile; returns its pid once it answers."""
        base = self._dir(ctx) / "coredns"
        base.mkdir(parents=True, exist_ok=True)
        corefile = base / "Corefile"
        corefile.write_text(f""".:53 {{
    bind {node_ip}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    forward . /etc/resolv.conf
    cache 30
}}
""")
        log = self._dir(ctx) / "coredns.log"
        pid = spawn([ctx.bin_dir / "coredns", "-conf", corefile], log, cwd=base)
        try:
            wait_until(lambda: _dns_answers(node_ip, "kubernetes.default.svc.cluster.local"), 60,
                       f"node: CoreDNS does not answer on {node_ip}:53", log, pid)
        except TestEnvError:
            kill_group(pid, timeout=5)
            raise
        return pid

    def _write_cni(self, ctx: Context) -> None:
        net_d = self._dir(ctx) / "cni" / "net.d"
        net_d.mkdir(parents=True, exist_ok=True)
        conf = {
            "cniVersion": "1.0.0", "name": "testenv-" + _key(ctx),
            "plugins": [{
                "type": "bridge", "bridge": self._bridge(ctx), "isGateway": True, "ipMasq": False,
                "hairpinMode": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": self._subnet(ctx)}]],
                         "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(self._dir(ctx) / "cni" / "ipam")},
            }],
        }
        (net_d / "10-testenv.conflist").write_text(json.dumps(conf, indent=1))

    def _write_kubelet_config(self, ctx: Context, cgroup_root: str, node_ip: str, port: int, healthz: int,
                              dns: bool) -> Path:
        base = self._dir(ctx)
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "failCgroupV1": False, "cgroupDriver": "cgroupfs", "cgroupRoot": cgroup_root,
            "containerRuntimeEndpoint": f"unix://{self._sock(ctx)}",
            "address": node_ip, "port": port, "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1", "healthzPort": healthz,
            "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
            "authorization": {"mode": "AlwaysAllow"},
            "registerNode": True,
            "registerWithTaints": REAL_NODE_TAINTS,
            "podLogsDir": str(base / "pod-logs"),
            "protectKernelDefaults": False,
            "failSwapOn": False,
            "maxPods": 20,
            "serializeImagePulls": False,
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                             "nodefs.inodesFree": "1%"},
            "syncFrequency": "10s",
            "fileCheckFrequency": "0s",
            "resolvConf": "/etc/resolv.conf",
            "clusterDomain": "cluster.local",
            "clusterDNS": [node_ip] if dns else [],
            "shutdownGracePeriod": "0s",
            "containerLogMaxSize": "10Mi",
        }
        path = base / "kubelet-config.json"
        path.write_text(json.dumps(config, indent=1))
        return path

    def _node_ready(self, kubectl: list) -> bool:
        proc = subprocess.run([str(c) for c in kubectl] + ["get", "node", NODE_NAME, "-o", "json"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return False
        conditions = json.loads(proc.stdout).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    # --- status / stop ------------------------------------------------------------------------------------------
    def is_running(self, ctx: Context, state: dict) -> bool:
        if state.get("disabled"):
            return not enabled()
        if state.get("unavailable"):
            return False  # try again at the next `up`
        return bool(state.get("pids")) and all(pid_alive(p) for p in state["pids"])

    def stop(self, ctx: Context, state: dict) -> None:
        if state.get("disabled") or state.get("unavailable"):
            return
        self._cleanup(ctx, state)

    def _cleanup(self, ctx: Context, state: dict) -> None:
        """Leave no process, mount, bridge, netns, cgroup or iptables rule of this node behind."""
        base = self._dir(ctx)
        kubeconfig = ctx.env.get("KUBECONFIG") or str(ctx.state_dir / "kube" / "kubeconfig")
        kubectl = [str(ctx.bin_dir / "kubectl"), "--kubeconfig", kubeconfig, "--request-timeout", "5s"]
        pids = state.get("pids", [])
        if pids and all(pid_alive(p) for p in pids[:2]) and Path(kubeconfig).exists():
            # Graceful first: the kubelet stops the pods (CNI DEL, volume unmounts) while it still runs.
            subprocess.run(kubectl + ["cordon", NODE_NAME], capture_output=True, check=False)
            subprocess.run(kubectl + ["delete", "pods", "-A", "--field-selector", f"spec.nodeName={NODE_NAME}",
                                      "--grace-period=0", "--force", "--wait=false"], capture_output=True, check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self._ctr_ok(ctx):
                try:
                    if not self.ctr(ctx, "tasks", "ls", "-q", timeout=10).strip():
                        break
                except TestEnvError:
                    break
                time.sleep(1)
        if Path(kubeconfig).exists():
            subprocess.run(kubectl + ["delete", "node", NODE_NAME, "--ignore-not-found", "--wait=false"],
                           capture_output=True, check=False)
        for pid in reversed(pids):
            kill_group(pid, timeout=10)
        # containerd's shims run in sessions of their own; every process naming this node's directory goes.
        for pid in _procs_mentioning(str(base)):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.5)
        for point in sorted(_mounts_under(str(base)), key=len, reverse=True):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        bridge = self._bridge(ctx)
        if Path(f"/sys/class/net/{bridge}").exists():
            subprocess.run(["ip", "link", "delete", bridge], capture_output=True, check=False)
        shutil.rmtree(base / "cni" / "ipam", ignore_errors=True)
        cgroup_root = "n4j-" + _key(ctx)
        for controller in _cgroup_controllers(with_unified=True):
            top = controller / cgroup_root
            if top.exists():
                for path in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                                   reverse=True) + [top]:
                    try:
                        path.rmdir()
                    except OSError:
                        pass
        kubelets = [p for p in _procs_mentioning("--hostname-override") if Path(f"/proc/{p}/comm").exists()
                    and "kubelet" in Path(f"/proc/{p}/comm").read_text(encoding="utf-8")]
        if not kubelets:
            for tool in ("iptables", "ip6tables"):
                for hook in ("INPUT", "OUTPUT"):
                    while subprocess.run([tool, "-D", hook, "-j", "KUBE-FIREWALL"], capture_output=True,
                                         check=False).returncode == 0:
                        pass
                for table, chain in CANARY_CHAINS + (("filter", "KUBE-FIREWALL"),):
                    subprocess.run([tool, "-t", table, "-F", chain], capture_output=True, check=False)
                    subprocess.run([tool, "-t", table, "-X", chain], capture_output=True, check=False)
        saved = base / "host-sysctls.json"
        if saved.exists() and state:
            for name, value in json.loads(saved.read_text(encoding="utf-8")).items():
                try:
                    _sysctl_path(name).write_text(value + "\n")
                except OSError:
                    pass
            saved.unlink()
        for netns in (base / "containerd" / "state").glob("**/netns/*"):
            netns.unlink(missing_ok=True)
