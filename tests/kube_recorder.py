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

import http.client
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import yaml

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Hop-by-hop headers are the proxy's own business (RFC 9110 section 7.6.1).
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


class KubeRecorder:
    def __init__(self, kubeconfig: str, path: Path):
        config = yaml.safe_load(Path(kubeconfig).read_text())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        upstream = urlsplit(cluster["server"])
        self._host, self._port = upstream.hostname, upstream.port or 443
        self._tls = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self._tls.load_cert_chain(user["client-certificate"], user["client-key"])
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.kubeconfig = Path(path)
        self.write_kubeconfig()
        self.env = {"KUBECONFIG": str(self.kubeconfig), "K8S_AUTH_KUBECONFIG": str(self.kubeconfig)}

    def write_kubeconfig(self) -> None:
        """(Re)write the kubeconfig at `path`: the proxy's address, no credentials (the proxy adds them)."""
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "recorded",
            "clusters": [{"name": "recorded", "cluster": {"server": f"http://127.0.0.1:{self._server.server_port}"}}],
            "users": [{"name": "recorded", "user": {}}],
            "contexts": [{"name": "recorded", "context": {"cluster": "recorded", "user": "recorded"}}]}))
        self.kubeconfig.chmod(0o600)

    def __enter__(self) -> "KubeRecorder":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def writes(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(m, p) for m, p in self.log if m in WRITE_METHODS]

    def _handler(self):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _forward(self):
                with recorder._lock:  # pylint: disable=protected-access
                    recorder.log.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
                upstream = http.client.HTTPSConnection(recorder._host, recorder._port,  # pylint: disable=protected-access
                                                       context=recorder._tls, timeout=60)  # pylint: disable=protected-access
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                finally:
                    upstream.close()
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in HOP_HEADERS | {"content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        return Handler
