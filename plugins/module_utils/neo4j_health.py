# -*- coding: utf-8 -*-
# Copyright: Contributors to the neo4j_azure.aks collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What neo4j_health checks, how it decides "healthy", and how it waits (read-only: nothing is ever committed)."""

from __future__ import annotations

import statistics
import time

from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import ModuleError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import (
    DATABASE_NOT_FOUND, DATABASE_UNAVAILABLE, UNREACHABLE, Neo4jClient, Neo4jOpError)

# Failures that a starting server goes through; anything else (bad password, TLS, configuration) will not heal by
# waiting, so it fails at once.
RETRYABLE = (UNREACHABLE, DATABASE_UNAVAILABLE, DATABASE_NOT_FOUND)
READ_ONLY_CODES = ("Neo.ClientError.General.WriteOnReadOnlyAccessDbException",
                   "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase")


def health_argument_spec():
    return {
        "required_databases": {"type": "list", "elements": "str", "default": []},
        "require_all_online": {"type": "bool", "default": True},
        "write_probe": {"type": "bool", "default": False},
        "latency_samples": {"type": "int", "default": 5},
        "latency_threshold_ms": {"type": "float"},
        "check_servers": {"type": "bool", "default": True},
        "wait": {"type": "bool", "default": False},
        "timeout": {"type": "float", "default": 300.0},
        "initial_delay": {"type": "float", "default": 0.5},
        "max_delay": {"type": "float", "default": 0.5},
    }


class HealthError(ModuleError):
    """Neo4j is not healthy (or not reachable); carries what was measured so the failure shows it."""

    def __init__(self, message, report, kind="unhealthy"):
        super().__init__(message)
        self.report = report
        self.kind = kind

    @property
    def details(self):
        return {**self.report, "changed": False, "healthy": False, "error_kind": self.kind}


def backoff_delays(initial, maximum, factor=2.0):
    """initial, initial*factor, ... capped at maximum, forever."""
    delay = max(initial, 0.0)
    while True:
        yield min(delay, maximum)
        delay *= factor


def latency_summary(samples_ms):
    if not samples_ms:
        return None
    return {"min": round(min(samples_ms), 3), "median": round(statistics.median(samples_ms), 3),
            "max": round(max(samples_ms), 3), "samples": len(samples_ms)}


def parse_databases(rows):
    """SHOW DATABASES rows (one per database and server) in the module's snake_case shape."""
    return [{
        "name": row.get("name"),
        "type": row.get("type"),
        "access": row.get("access"),
        "role": row.get("role"),
        "writer": row.get("writer"),
        "address": row.get("address"),
        "requested_status": row.get("requestedStatus"),
        "current_status": row.get("currentStatus"),
        "status_message": row.get("statusMessage") or "",
        "default": bool(row.get("default")),
        "home": bool(row.get("home")),
        "aliases": list(row.get("aliases") or []),
    } for row in rows]


def database_problems(databases, required=(), all_online=True):
    """Sentences naming each database that is missing or not online (per server in a cluster)."""
    problems = []
    names = {db["name"] for db in databases}
    problems += [f"required database '{name}' does not exist" for name in required if name not in names]
    for db in databases:
        if db["current_status"] == "online":
            continue
        if not all_online and db["name"] not in required and not db["default"]:
            continue
        text = f"database '{db['name']}' is {db['current_status']}"
        if db["requested_status"] and db["requested_status"] != db["current_status"]:
            text += f" (requested {db['requested_status']})"
        if db["address"]:
            text += f" on {db['address']}"
        if db["status_message"]:
            text += f": {db['status_message']}"
        problems.append(text)
    return problems


def parse_servers(rows):
    return [{"name": row.get("name"), "address": row.get("address"), "state": row.get("state"),
             "health": row.get("health"), "hosting": list(row.get("hosting") or [])} for row in rows]


def server_problems(servers):
    problems = []
    for server in servers or []:
        label = f"server {server['name']} ({server['address']})"
        if server["state"] != "Enabled":
            problems.append(f"{label} is {server['state']}")
        if server["health"] != "Available":
            problems.append(f"{label} health is {server['health']}")
    return problems


class HealthCheck:
    """One probe of the server, or probes until healthy with exponential backoff (wait=true), start to start."""

    def __init__(self, params, client_factory=Neo4jClient, clock=time.monotonic, sleep=time.sleep):
        self.params = params
        self.client_factory = client_factory
        self.clock = clock
        self.sleep = sleep

    def run(self):
        params = self.params
        started = self.clock()
        deadline = started + (params["timeout"] if params["wait"] else 0)
        delays = backoff_delays(params["initial_delay"], params["max_delay"])
        attempts = 0
        while True:
            attempts += 1
            probe_started = self.clock()
            try:
                report = self.probe()
            except Neo4jOpError as err:
                if err.kind not in RETRYABLE:
                    raise HealthError(str(err), {"problems": [str(err)], "attempts": attempts}, err.kind) from err
                report = {"problems": [str(err)], "error_kind": err.kind}
            elapsed = round(self.clock() - started, 3)
            report.update(attempts=attempts, elapsed_s=elapsed, healthy=not report["problems"])
            if report["healthy"]:
                return report
            remaining = deadline - self.clock()
            if remaining <= 0:
                waited = f" after {attempts} attempts in {elapsed:.1f}s" if params["wait"] else ""
                raise HealthError(f"Neo4j at {params['uri']} is not healthy{waited}: " + "; ".join(report["problems"]),
                                  report, report.get("error_kind", "unhealthy"))
            # The delay runs from the start of one probe to the start of the next: a slow probe (a Bolt
            # connect that waits) does not add to it, and probes never come closer than the delay.
            pause = next(delays) - (self.clock() - probe_started)
            if pause > 0:
                self.sleep(min(pause, remaining))

    def probe(self):
        """Measure everything once; connection-level failures raise Neo4jOpError, the rest become problems."""
        params = self.params
        with self.client_factory(params) as client:
            info = client.server_info()
            components = client.run("CALL dbms.components() YIELD name, versions, edition "
                                    "RETURN name, versions, edition", database="system")
            kernel = next((c for c in components if c["name"] == "Neo4j Kernel"), components[0] if components else {})
            edition = kernel.get("edition")
            databases = parse_databases(client.run("SHOW DATABASES", database="system"))
            target = params.get("database") or next((db["name"] for db in databases if db["home"]), None)
            required = list(dict.fromkeys(list(params["required_databases"]) +
                                          ([params["database"]] if params.get("database") else [])))
            problems = database_problems(databases, required, params["require_all_online"])
            servers = None
            if params["check_servers"] and edition != "community":
                servers = parse_servers(client.run("SHOW SERVERS YIELD name, address, state, health, hosting",
                                                   database="system"))
                problems += server_problems(servers)
            target_online = any(db["name"] == target and db["current_status"] == "online" for db in databases)
            latency = None
            accepts_writes = None
            write_error = None
            if target_online:
                latency = latency_summary(self._latencies(client, target))
                threshold = params.get("latency_threshold_ms")
                if threshold is not None and latency and latency["median"] > threshold:
                    problems.append(f"median latency {latency['median']} ms of RETURN 1 on '{target}' exceeds "
                                    f"latency_threshold_ms {threshold}")
                if params["write_probe"]:
                    write_error = self._write_probe(client, target)
                    accepts_writes = write_error is None
                    if write_error:
                        problems.append(f"database '{target}' does not accept writes: {write_error}")
        return {
            "server": {"address": str(info.address) if info.address else None,
                       "agent": info.agent, "protocol_version": ".".join(str(p) for p in info.protocol_version),
                       "version": (kernel.get("versions") or [None])[0], "edition": edition},
            "database": target,
            "databases": databases,
            "servers": servers,
            "latency_ms": latency,
            "accepts_writes": accepts_writes,
            "write_probe_error": write_error,
            "problems": problems,
        }

    def _latencies(self, client, database):
        """Round trips of RETURN 1 on one open session, so connection setup is not counted."""
        samples = []
        try:
            with client.session(database=database) as session:
                for _sample in range(max(self.params["latency_samples"], 1)):
                    start = time.perf_counter()
                    session.run("RETURN 1").consume()
                    samples.append((time.perf_counter() - start) * 1000.0)
        except Exception as err:  # pylint: disable=broad-except
            raise client.error(err, database) from err
        return samples

    @staticmethod
    def _write_probe(client, database):
        """Create an unlabelled node in an explicit transaction and roll it back: no label or property token is
        created, so nothing survives. Returns None when the write was accepted, else the server's reason."""
        try:
            with client.session(database=database) as session:
                tx = session.begin_transaction()
                try:
                    tx.run("CREATE (probe) RETURN count(probe)").consume()
                finally:
                    if not tx.closed():
                        tx.rollback()
        except Exception as err:  # pylint: disable=broad-except
            mapped = client.error(err, database)
            if mapped.code in READ_ONLY_CODES or mapped.kind not in RETRYABLE:
                return str(getattr(err, "message", None) or mapped)
            raise mapped from err
        return None
