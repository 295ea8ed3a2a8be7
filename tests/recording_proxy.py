"""The forwarding HTTP proxy behind tests/kube_recorder.py and tests/blob_recorder.py.

A run under test is pointed at 127.0.0.1:<port> (plain HTTP); each request is forwarded unchanged to the one
upstream (HTTPS with the given TLS context, or HTTP) and recorded through the subclass's `record()`. The shared
servers (kube-apiserver, Azurite) keep no per-run request log of their own: this one is per run.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Hop-by-hop headers are the proxy's own business (RFC 9110 section 7.6.1).
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


class RecordingProxy:
    """Forwards to host:port; `record(method, path, status)` is called once per request (status None when the
    subclass records on arrival, RECORD_ON_ARRIVAL, so a request that never ends, such as a watch, still counts,
    and when the upstream did not answer within UPSTREAM_TIMEOUT: the client then gets a 504 if still there)."""

    RECORD_ON_ARRIVAL = False
    UPSTREAM_TIMEOUT = 60

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None):
        self._host, self._port, self._tls = host, port, tls
        self.log: list = []
        # per log entry: (sent, answered or given up) on time.perf_counter()'s clock, None when recorded on arrival
        self.upstream_spans: list = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_port

    def record(self, method: str, path: str, status: int | None):
        """The log entry of one request (subclasses choose its shape)."""
        return (method, path, status)

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _append(self, method: str, path: str, status: int | None, span: tuple | None = None) -> None:
        with self._lock:
            self.log.append(self.record(method, path, status))
            self.upstream_spans.append(span)

    def _upstream(self) -> http.client.HTTPConnection:
        if self._tls is not None:
            return http.client.HTTPSConnection(self._host, self._port, context=self._tls, timeout=self.UPSTREAM_TIMEOUT)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.UPSTREAM_TIMEOUT)

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _forward(self):
                # pylint: disable=protected-access
                if proxy.RECORD_ON_ARRIVAL:
                    proxy._append(self.command, self.path, None)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
                upstream = proxy._upstream()
                sent = time.perf_counter()
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                except OSError as err:  # timeout, refused, reset: the attempt still counts, its wait too
                    if not proxy.RECORD_ON_ARRIVAL:
                        proxy._append(self.command, self.path, None, (sent, time.perf_counter()))
                    self.send_error(504, f"recording proxy: the upstream did not answer ({err})")
                    return
                finally:
                    upstream.close()
                if not proxy.RECORD_ON_ARRIVAL:
                    proxy._append(self.command, self.path, resp.status, (sent, time.perf_counter()))
                self.send_response(resp.status, resp.reason)
                head = self.command == "HEAD"  # no body: its Content-Length is the resource's, passed on as is
                for key, value in resp.getheaders():
                    if key.lower() not in HOP_HEADERS | ({"content-length"} if not head else set()):
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        return Handler
