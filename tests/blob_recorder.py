"""A recording proxy in front of the test environment's Azurite, to count the Blob requests one run sends.

Azurite is shared by every test running at the same time and keeps no request count of its own. Point the run's
connection string at this proxy instead (`env`): it forwards each request unchanged (Shared Key signatures do not
cover the host, so they stay valid) and logs its method, path and query.

    with BlobRecorder(env["AZURE_STORAGE_CONNECTION_STRING"]) as blob:
        run_playbook(..., env={**env, **blob.env})
        assert blob.counts()["batch"] == 1

Used by tests/integration/modules/test_backup_retention.py and the bench's retention section.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# Hop-by-hop headers are the proxy's own business (RFC 9110 section 7.6.1).
HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


def kind_of(method: str, path: str) -> str:
    """list (List Blobs page), batch (Blob Batch), delete (Delete Blob), or '<METHOD> <comp>' for the rest."""
    query = parse_qs(urlsplit(path).query)
    comp = (query.get("comp") or [""])[0]
    if method == "GET" and comp == "list":
        return "list"
    if method == "POST" and comp == "batch":
        return "batch"
    if method == "DELETE" and not comp:
        return "delete"
    return f"{method} {comp}".strip()


class BlobRecorder:
    def __init__(self, connection_string: str):
        fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
        upstream = urlsplit(fields["BlobEndpoint"])
        self._host, self._port = upstream.hostname, upstream.port or 80
        self.log: list[tuple[str, str, int]] = []  # (method, path?query, status)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        endpoint = f"http://127.0.0.1:{self._server.server_port}{upstream.path}"
        fields["BlobEndpoint"] = endpoint
        self.connection_string = ";".join(f"{k}={v}" for k, v in fields.items()) + ";"
        self.env = {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string, "AZURE_STORAGE_BLOB_ENDPOINT": endpoint}

    def __enter__(self) -> "BlobRecorder":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mark(self) -> int:
        with self._lock:
            return len(self.log)

    def counts(self, since: int = 0) -> dict:
        """Requests by kind_of() since a mark, and their total."""
        with self._lock:
            entries = self.log[since:]
        out = {"total": len(entries), "list": 0, "batch": 0, "delete": 0}
        for method, path, _status in entries:
            kind = kind_of(method, path)
            out[kind] = out.get(kind, 0) + 1
        return out

    def _handler(self):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
                # pylint: disable-next=protected-access
                upstream = http.client.HTTPConnection(recorder._host, recorder._port, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                finally:
                    upstream.close()
                with recorder._lock:  # pylint: disable=protected-access
                    recorder.log.append((self.command, self.path, resp.status))
                self.send_response(resp.status, resp.reason)
                head = self.command == "HEAD"  # no body: its Content-Length is the blob's size, passed on as is
                for key, value in resp.getheaders():
                    if key.lower() not in HOP_HEADERS | ({"content-length"} if not head else set()):
                        self.send_header(key, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        return Handler
