"""A recording proxy in front of the test cluster's real kube-apiserver, to count what a run sends to Kubernetes.

The apiserver is shared by every test running at the same time, so its own metrics cannot say which requests
came from one run. Point the run's kubeconfig (and KUBECONFIG/K8S_AUTH_KUBECONFIG) at this proxy instead: it
forwards each request to the apiserver with the admin client certificate and logs its method and path.

    with KubeRecorder(env["KUBECONFIG"], tmp_path / "recorded.kubeconfig") as kube:
        run_playbook(..., env={**env, **kube.env})
        assert kube.writes() == []

Watches are answered only when they end: count with it, do not wait on watches through it.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from recording_proxy import RecordingProxy

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class KubeRecorder(RecordingProxy):
    RECORD_ON_ARRIVAL = True  # a watch is logged when it starts

    def __init__(self, kubeconfig: str, path: Path):
        config = yaml.safe_load(Path(kubeconfig).read_text())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        upstream = urlsplit(cluster["server"])
        tls = ssl.create_default_context(cafile=cluster["certificate-authority"])
        tls.load_cert_chain(user["client-certificate"], user["client-key"])
        super().__init__(upstream.hostname, upstream.port or 443, tls)
        self.kubeconfig = Path(path)
        self.write_kubeconfig()
        self.env = {"KUBECONFIG": str(self.kubeconfig), "K8S_AUTH_KUBECONFIG": str(self.kubeconfig)}

    def record(self, method, path, status):  # pylint: disable=unused-argument
        return (method, path)

    def write_kubeconfig(self) -> None:
        """(Re)write the kubeconfig at `path`: the proxy's address, no credentials (the proxy adds them)."""
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "recorded",
            "clusters": [{"name": "recorded", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "recorded", "user": {}}],
            "contexts": [{"name": "recorded", "context": {"cluster": "recorded", "user": "recorded"}}]}))
        self.kubeconfig.chmod(0o600)

    def writes(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(m, p) for m, p in self.log if m in WRITE_METHODS]
