"""HTTP plumbing of the double: the route table, the request handler (ARM's checks: injected faults, bearer
token, api-version, subscription), the request log, and long-running operations."""

from __future__ import annotations

import json
import re
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from . import control, entra
from .errors import ArmError, now_iso

API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourcegroups/(?P<rg>[^/]+)"
DEP = r"/providers/Microsoft\.Resources/deployments/(?P<name>[^/]+)"
MC = RG + r"/providers/Microsoft\.ContainerService/managedClusters/(?P<cluster>[^/]+)"


class Router:
    """(method, path regex, operation name, handler) in the order they are tried: first match wins."""

    def __init__(self):
        self.routes: list = []

    def add(self, method: str, pattern: str, operation: str, func) -> None:
        self.routes.append((method, re.compile("^" + pattern + "$", re.I), operation, func))

    def match(self, method: str, path: str):
        for verb, regex, operation, func in self.routes:
            found = regex.match(path)
            if found and verb == method:
                return operation, func, found.groupdict()
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = "ArmTestDouble/1.0"
    protocol_version = "HTTP/1.1"
    double = None  # the Double, set by server.main()
    router: Router = None  # set by server.main()

    def log_message(self, fmt, *args):  # the request log is kept in memory, readable over HTTP
        return

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, body=None, headers: dict | None = None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-correlation-request-id", self.correlation)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._status = status
        self._record()  # before the client can see the answer, so the log is complete when it returns
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    @property
    def base(self) -> str:
        return self.double.cfg["endpoint"]

    def _handle(self):
        self._status = 0
        self._recorded = False
        self.correlation = self.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
        started = time.monotonic()
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        raw = self._read_body()
        self._operation = "Unknown"
        self._started, self._path, self._query = started, path, query
        try:
            if path.startswith("/_testenv/"):
                self._operation = "TestEnv"
                return control.handle(self, path, query, raw)
            if path.startswith(f"/{self.double.tenant_id}/") or path.endswith("openid-configuration"):
                self._operation = "Entra_" + path.rsplit("/", 1)[-1]
                return entra.handle(self, path, raw)
            if path == "/metadata/endpoints" and self.command == "GET":
                self._operation = "Metadata_Endpoints"
                return entra.metadata(self, query)
            found = self.router.match(self.command, path)
            if found:
                op_name, func, groups = found
                self._operation = op_name
                self._arm_checks(path, query, op_name)
                body = json.loads(raw) if raw else None
                return func(self, query=query, body=body, **groups)
            raise ArmError(404, "InvalidResourceType" if "/providers/" in path else "NotFound",
                           f"The resource type could not be found for {self.command} {path} in the ARM test double.")
        except ArmError as err:
            self.reply(err.status, err.body(), err.headers)
        except json.JSONDecodeError as err:
            self.reply(400, ArmError(400, "InvalidRequestContent", f"The request content was invalid and could "
                                                                   f"not be deserialized: {err}").body())
        except Exception as err:  # pylint: disable=broad-except  # the double must answer, and say why
            self.reply(500, ArmError(500, "InternalServerError", f"ARM test double bug: {err!r}").body())
        finally:
            self._record()

    def _record(self):
        if self._recorded:
            return
        self._recorded = True
        self.double.record({
            "time": now_iso(), "method": self.command, "path": self._path, "operation": self._operation,
            "api_version": self._query.get("api-version"), "status": self._status,
            "client_request_id": self.headers.get("x-ms-client-request-id"),
            "ms": round((time.monotonic() - self._started) * 1000, 1),
        })

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

    def _arm_checks(self, path, query, op_name):
        if op_name != "Operations_Poll":
            fault = self.double.take_fault(self.command, path, ("throttle", "error"))
            if fault:
                if fault["kind"] == "throttle":
                    raise ArmError(429, "TooManyRequests", "The request is being throttled (injected fault).",
                                   headers={"Retry-After": str(fault.get("retry_after", 1))})
                raise ArmError(fault.get("status", 500), fault.get("code", "InternalServerError"),
                               fault.get("message", "Encountered internal server error (injected fault)."))
        auth = self.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate": f'Bearer authorization_uri="{self.base}/{self.double.tenant_id}", '
                                         f'error="invalid_token", error_description="The access token is invalid."'}
        if not auth.startswith("Bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                                                        "missing.", headers=challenge)
        expiry = self.double.tokens.get(auth[7:])
        if expiry is None or expiry < time.time():
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid or expired.",
                           headers=challenge)
        version = query.get("api-version")
        if not version:
            raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is "
                                                              "required for all requests.")
        if not API_VERSION.match(version):
            raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")
        match = re.match(SUB, path, re.I)
        if match:
            self.double.require_subscription(match.group("sub"))

    def start_operation(self, kind: str, path: str, work, status_path: str, modelled_s: float = 0) -> tuple:
        """Register an LRO whose work runs when it is due (at the first poll after its delay). `modelled_s`: its
        duration on Azure under the azure-like timing profile (ignored when the profile is off)."""
        slow = self.double.take_fault(self.command, path, ("slow_lro",))
        timing = self.double.timing
        delay = (slow or {}).get("seconds", 0) + (modelled_s * timing["time_scale"] if timing else 0)
        op_id = str(uuid.uuid4()).upper().replace("-", "")[:20]
        op = {"id": op_id, "kind": kind, "status": "Running", "due": time.monotonic() + delay,
              "work": work, "result": None, "error": None, "started": time.monotonic(), "modelled_s": modelled_s}
        with self.double.lock:
            self.double.operations[op_id] = op
        return op, f"{self.base}{status_path}/operationStatuses/{op_id}?api-version=2025-04-01"

    def retry_after(self) -> dict:
        timing = self.double.timing
        if timing:
            return {"Retry-After": str(timing["retry_after_sent"])}
        return {"Retry-After": str(self.double.cfg.get("retry_after", 1))}

    def advance(self, op) -> None:
        with self.double.lock:
            if op["status"] != "Running" or time.monotonic() < op["due"]:
                return
            try:
                op["result"] = op["work"]()
                op["status"] = "Succeeded"
            except ArmError as err:
                op["status"] = "Failed"
                op["error"] = err.body()["error"]
