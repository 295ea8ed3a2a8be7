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

from urllib.parse import parse_qs, urlsplit

from recording_proxy import RecordingProxy


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


class BlobRecorder(RecordingProxy):
    # Longer than azure-storage-blob's read timeout (60 s): the client gives up first and retries, as it would on
    # Azure, and the attempt it gave up on is still recorded (with status None when Azurite never answered).
    UPSTREAM_TIMEOUT = 120

    def __init__(self, connection_string: str):
        fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
        upstream = urlsplit(fields["BlobEndpoint"])
        super().__init__(upstream.hostname, upstream.port or 80)  # log: (method, path?query, status)
        endpoint = f"http://127.0.0.1:{self.port}{upstream.path}"
        fields["BlobEndpoint"] = endpoint
        self.connection_string = ";".join(f"{k}={v}" for k, v in fields.items()) + ";"
        self.env = {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string, "AZURE_STORAGE_BLOB_ENDPOINT": endpoint}

    def mark(self) -> int:
        with self._lock:
            return len(self.log)

    def counts(self, since: int = 0) -> dict:
        """Requests by kind_of() since a mark, and their total."""
        with self._lock:
            entries = self.log[since:]
        out = {"total": len(entries), "list": 0, "batch": 0, "delete": 0, "unanswered": 0}
        for method, path, status in entries:
            kind = kind_of(method, path)
            out[kind] = out.get(kind, 0) + 1
            out["unanswered"] += status is None
        return out

    def server_seconds(self, since: int = 0) -> float:
        """The seconds during which at least one request since a mark waited on Azurite: the union of their spans, so
        a retry sent while Azurite still works on the attempt the client gave up on is not counted twice (what a
        client sending requests one after the other spends waiting on the server)."""
        with self._lock:
            spans = sorted(s for s in self.upstream_spans[since:] if s is not None)
        total, end = 0.0, float("-inf")
        for start, stop in spans:
            if stop > end:
                total += stop - max(start, end)
                end = stop
        return total
