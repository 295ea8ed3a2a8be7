# -*- coding: utf-8 -*-
# Copyright: Contributors to the neo4j_azure.aks collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connections to Neo4j over Bolt with the official driver: options, TLS, and one place mapping driver errors."""

from __future__ import annotations

import ssl
import traceback
from urllib.parse import urlsplit, urlunsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import ModuleError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.kube_portforward import (
    PodPortForward, port_forward_spec)

try:
    import neo4j
    from neo4j import exceptions as neo4j_exc
except ImportError:
    neo4j = None
    neo4j_exc = None
    NEO4J_IMPORT_ERROR = traceback.format_exc()
else:
    NEO4J_IMPORT_ERROR = None

SCHEMES = ("bolt", "neo4j")
SCHEME_SUFFIXES = ("", "+s", "+ssc")

# Kinds of failure; each needs a different fix, so callers and users can tell them apart.
UNREACHABLE = "unreachable"
AUTH = "auth"
CREDENTIALS_EXPIRED = "credentials_expired"
TLS = "tls"
DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_NOT_FOUND = "database_not_found"
FORBIDDEN = "forbidden"
CONFIGURATION = "configuration"
QUERY = "query"

_AUTH_CODES = ("Neo.ClientError.Security.Unauthorized", "Neo.ClientError.Security.AuthenticationRateLimit",
               "Neo.ClientError.Security.AuthProviderFailed", "Neo.ClientError.Security.TokenExpired")


def connection_argument_spec():
    """Options shared by every module that talks to Neo4j (documented by the neo4j_azure.aks.neo4j fragment)."""
    return {
        "uri": {"type": "str", "default": "bolt://localhost:7687", "fallback": (env_fallback, ["NEO4J_URI"])},
        "user": {"type": "str", "default": "neo4j", "aliases": ["username"],
                 "fallback": (env_fallback, ["NEO4J_USERNAME"])},
        "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["NEO4J_PASSWORD"])},
        "database": {"type": "str"},
        "tls_verify": {"type": "bool", "default": True},
        "tls_ca_file": {"type": "path"},
        "tls_client_cert": {"type": "path"},
        "tls_client_key": {"type": "path"},
        "connection_timeout": {"type": "float", "default": 10.0},
        "port_forward": port_forward_spec(),
    }


class Neo4jOpError(ModuleError):
    """A failed Neo4j operation, with its kind (UNREACHABLE, AUTH, ...) and the server's status code if any."""

    def __init__(self, kind, message, code=None):
        super().__init__(message)
        self.kind = kind
        self.code = code

    @property
    def details(self):
        return {"changed": False, "error_kind": self.kind, "neo4j_code": self.code}


def through_port_forward(params, work):
    """work(params), or with option port_forward, work(params) with the URI pointing at a port-forward to the pod.

    The tunnel lives as long as work() runs; a failure message names the pod or Service instead of the local
    end of the tunnel, plus the tunnel's own last error (no such pod, stream refused), and the result says
    which pod was reached.
    """
    forward = params.get("port_forward")
    if not forward:
        return work(params)
    scheme = params["uri"].split("://", 1)[0].lower()
    if scheme not in ("bolt", "bolt+s", "bolt+ssc"):
        raise Neo4jOpError(CONFIGURATION, f"uri {params['uri']!r}: port_forward needs a bolt:// URI (neo4j:// routing "
                                          "would leave the tunnel for the servers' own addresses); use "
                                          "bolt://localhost:7687")
    with PodPortForward(forward) as tunnel:
        local = f"{scheme}://127.0.0.1:{tunnel.local_port}"
        try:
            result = work(dict(params, uri=local))
        except ModuleError as err:
            reason = f" (port-forward: {tunnel.last_error})" if tunnel.last_error else ""
            where = f"{params['uri']} through a port-forward to {tunnel.what}"
            err.message = err.message.replace(local, where) + reason
            err.args = (err.message,)
            raise
        pod, port = tunnel.target
        return dict(result, port_forward={"pod": pod, "port": port, "connections": tunnel.connections})


def require_driver(module):
    if neo4j is None:
        module.fail_json(msg=missing_required_lib("neo4j (the official Neo4j Python driver)"),
                         exception=NEO4J_IMPORT_ERROR)


def _causes(err):
    seen = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__
    return seen


def _root_reason(err):
    """The innermost message: 'Connection refused' says more than the driver's wrapper text."""
    for cause in reversed(_causes(err)):
        text = getattr(cause, "message", None) or str(cause)
        if text:
            return text.strip().splitlines()[0]
    return type(err).__name__


def _is_tls_failure(err):
    for cause in _causes(err):
        if isinstance(cause, ssl.SSLError) or type(cause).__name__ in ("BoltSecurityError", "CertificateError"):
            return True
    return False


def map_error(err, uri, user=None, database=None):
    """Turn a driver or socket exception into a Neo4jOpError that says what is wrong and where."""
    if isinstance(err, Neo4jOpError):
        return err
    code = getattr(err, "code", None)
    where = f"Neo4j at {uri}"
    db = f"database '{database}'" if database else "the home database"
    if code == "Neo.ClientError.Security.CredentialsExpired":
        return Neo4jOpError(CREDENTIALS_EXPIRED, f"{where}: the password of user '{user}' has expired and must be "
                                                 "changed before any query runs (neo4j_password does that)", code)
    if (neo4j_exc is not None and isinstance(err, neo4j_exc.AuthError)) or code in _AUTH_CODES:
        return Neo4jOpError(AUTH, f"{where}: authentication failed for user '{user}' ({_root_reason(err)})", code)
    if (code or "").startswith("Neo.ClientError.Security.") or \
            (neo4j_exc is not None and isinstance(err, neo4j_exc.Forbidden)):
        return Neo4jOpError(FORBIDDEN, f"{where}: user '{user}' is not allowed to do this ({_root_reason(err)})", code)
    if code == "Neo.ClientError.Database.DatabaseNotFound":
        return Neo4jOpError(DATABASE_NOT_FOUND, f"{where}: {db} does not exist", code)
    if code == "Neo.TransientError.General.DatabaseUnavailable" or \
            (neo4j_exc is not None and isinstance(err, neo4j_exc.DatabaseUnavailable)):
        return Neo4jOpError(DATABASE_UNAVAILABLE, f"{where}: {db} is unavailable ({_root_reason(err)})", code)
    if _is_tls_failure(err):
        return Neo4jOpError(TLS, f"{where}: TLS handshake failed ({_root_reason(err)}); check the URI scheme "
                                 "(+s/+ssc), tls_ca_file, tls_verify and whether the server has TLS enabled", code)
    if neo4j_exc is not None and isinstance(err, neo4j_exc.ConfigurationError):
        return Neo4jOpError(CONFIGURATION, f"{where}: invalid driver configuration ({err})", code)
    if isinstance(err, OSError) or (neo4j_exc is not None and isinstance(
            err, (neo4j_exc.ServiceUnavailable, neo4j_exc.SessionExpired))):
        return Neo4jOpError(UNREACHABLE, f"{where} is unreachable ({_root_reason(err)})", code)
    message = getattr(err, "message", None) or str(err)
    return Neo4jOpError(QUERY, f"{where}: {message}" + (f" [{code}]" if code else ""), code)


def driver_settings(params):
    """(uri, config) for neo4j.GraphDatabase.driver from the module options.

    The driver refuses TLS settings together with a +s/+ssc scheme, so a +s/+ssc URI is turned into its plain
    scheme plus explicit settings; that lets tls_ca_file, tls_verify and client certificates work with any scheme.
    """
    uri = params["uri"]
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    base, _sep, suffix = scheme.partition("+")
    suffix = f"+{suffix}" if suffix else ""
    if base not in SCHEMES or suffix not in SCHEME_SUFFIXES or not parts.hostname:
        raise Neo4jOpError(CONFIGURATION, f"uri {uri!r}: expected <scheme>://host[:port] with scheme "
                                          "bolt, bolt+s, bolt+ssc, neo4j, neo4j+s or neo4j+ssc")
    verify = params.get("tls_verify", True) and suffix != "+ssc"
    ca_file = params.get("tls_ca_file")
    cert, key = params.get("tls_client_cert"), params.get("tls_client_key")
    if key and not cert:
        raise Neo4jOpError(CONFIGURATION, "tls_client_key needs tls_client_cert")
    config = {"connection_timeout": params.get("connection_timeout") or 10.0,
              "max_connection_pool_size": 4, "user_agent": "neo4j_azure.aks"}
    encrypted = bool(suffix) or bool(ca_file or cert)
    if encrypted:
        config["encrypted"] = True
        if not verify:
            config["trusted_certificates"] = neo4j.TrustAll()
        elif ca_file:
            config["trusted_certificates"] = neo4j.TrustCustomCAs(ca_file)
        else:
            config["trusted_certificates"] = neo4j.TrustSystemCAs()
        if cert:
            try:
                from neo4j.auth_management import ClientCertificate  # pylint: disable=import-outside-toplevel
            except ImportError as err:
                raise Neo4jOpError(CONFIGURATION, "tls_client_cert needs neo4j driver 5.19 or newer") from err
            config["client_certificate"] = ClientCertificate(cert, key)
    return urlunsplit((base, parts.netloc, parts.path, parts.query, parts.fragment)), config


class Neo4jClient:
    """A driver for one URI and user; every failure leaves as Neo4jOpError (see map_error)."""

    def __init__(self, params, user=None, password=None):
        self.params = params
        self.user = user or params.get("user")
        self._password = params.get("password") if password is None else password
        self.uri = params["uri"]
        self._driver = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def driver(self):
        if self._driver is None:
            uri, config = driver_settings(self.params)
            try:
                self._driver = neo4j.GraphDatabase.driver(uri, auth=(self.user, self._password or ""), **config)
            except Exception as err:  # pylint: disable=broad-except  # mapped, not swallowed
                raise self.error(err) from err
        return self._driver

    def close(self):
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def error(self, err, database=None):
        return map_error(err, self.uri, self.user, database)

    def server_info(self):
        """Connect (authenticating) and return the driver's ServerInfo.

        get_server_info() opens and authenticates a connection itself: verify_connectivity() before it would do the
        same again (two logins per probe).
        """
        try:
            return self.driver.get_server_info()
        except Exception as err:  # pylint: disable=broad-except
            raise self.error(err) from err

    def run(self, query, parameters=None, database=None):
        """Run one auto-commit query (no driver-side retries: the caller decides) and return its rows as dicts."""
        try:
            with self.driver.session(database=database) as session:
                return [record.data() for record in session.run(query, parameters or {})]
        except Exception as err:  # pylint: disable=broad-except
            raise self.error(err, database) from err

    def session(self, database=None):
        return self.driver.session(database=database)


def login_state(params, user, password):
    """(accepted, change_required) for user/password on the server; an authentication failure is (False, False).

    A login whose password change is pending is accepted (the password is right) but runs no query until changed.
    """
    with Neo4jClient(params, user=user, password=password) as client:
        try:
            client.run("SHOW CURRENT USER YIELD user", database="system")
        except Neo4jOpError as err:
            if err.kind == AUTH:
                return False, False
            if err.kind == CREDENTIALS_EXPIRED:
                return True, True
            raise
    return True, False
