"""Error mapping and driver settings of module_utils/neo4j (no server needed)."""

from __future__ import annotations

import ssl

import neo4j
import pytest
from neo4j import exceptions as neo4j_exc

from ansible_collections.neo4j_azure.aks.plugins.module_utils import neo4j as n4j

URI = "bolt://db.example:7687"


def server_error(cls, code, message="boom"):
    """A driver exception as the driver builds it from a server FAILURE message."""
    return cls._hydrate_neo4j(code=code, message=message)  # pylint: disable=protected-access


def chained(outer, inner):
    try:
        try:
            raise inner
        except Exception as err:  # pylint: disable=broad-except
            raise outer from err
    except Exception as err:  # pylint: disable=broad-except
        return err


def params(**overrides):
    base = {"uri": URI, "user": "neo4j", "password": "x", "database": None, "tls_verify": True, "tls_ca_file": None,
            "tls_client_cert": None, "tls_client_key": None, "connection_timeout": 5.0}
    return {**base, **overrides}


@pytest.mark.parametrize("code", ["Neo.ClientError.Security.Unauthorized",
                                  "Neo.ClientError.Security.AuthenticationRateLimit"])
def test_auth_failures(code):
    err = n4j.map_error(server_error(neo4j_exc.ClientError, code), URI, "neo4j")
    assert err.kind == n4j.AUTH and "authentication failed for user 'neo4j'" in str(err) and err.code == code


def test_credentials_expired_is_its_own_kind():
    err = n4j.map_error(server_error(neo4j_exc.ClientError, "Neo.ClientError.Security.CredentialsExpired"), URI, "u")
    assert err.kind == n4j.CREDENTIALS_EXPIRED and "must be changed" in str(err)


def test_forbidden():
    err = n4j.map_error(server_error(neo4j_exc.ClientError, "Neo.ClientError.Security.Forbidden", "no"), URI, "app")
    assert err.kind == n4j.FORBIDDEN and "user 'app' is not allowed" in str(err)


def test_database_not_found_and_unavailable():
    missing = n4j.map_error(server_error(neo4j_exc.ClientError, "Neo.ClientError.Database.DatabaseNotFound"), URI,
                            database="sales")
    assert missing.kind == n4j.DATABASE_NOT_FOUND and "database 'sales' does not exist" in str(missing)
    down = n4j.map_error(server_error(neo4j_exc.TransientError, "Neo.TransientError.General.DatabaseUnavailable",
                                      "db is starting"), URI, database="sales")
    assert down.kind == n4j.DATABASE_UNAVAILABLE and "database 'sales' is unavailable (db is starting)" in str(down)


def test_connection_refused_is_unreachable_with_the_root_reason():
    err = n4j.map_error(chained(neo4j_exc.ServiceUnavailable("Couldn't connect"),
                                ConnectionRefusedError(111, "Connection refused")), URI)
    assert err.kind == n4j.UNREACHABLE
    assert str(err) == f"Neo4j at {URI} is unreachable ([Errno 111] Connection refused)"


def test_ssl_error_in_the_chain_is_tls_not_unreachable():
    err = n4j.map_error(chained(neo4j_exc.ServiceUnavailable("Couldn't connect"),
                                ssl.SSLCertVerificationError("certificate verify failed")), URI)
    assert err.kind == n4j.TLS and "TLS handshake failed" in str(err)


def test_other_server_errors_keep_message_and_code():
    err = n4j.map_error(server_error(neo4j_exc.ClientError, "Neo.ClientError.Statement.SyntaxError", "bad"), URI)
    assert err.kind == n4j.QUERY and "bad" in str(err) and "SyntaxError" in str(err)


@pytest.mark.parametrize("uri", ["http://db:7474", "bolt+x://db", "neo4j://", "db:7687"])
def test_bad_uri_is_a_configuration_error(uri):
    with pytest.raises(n4j.Neo4jOpError) as info:
        n4j.driver_settings(params(uri=uri))
    assert info.value.kind == n4j.CONFIGURATION


def test_plain_uri_has_no_tls():
    uri, config = n4j.driver_settings(params())
    assert uri == URI and "encrypted" not in config and config["connection_timeout"] == 5.0


def test_secure_schemes_become_explicit_settings(tmp_path):
    uri, config = n4j.driver_settings(params(uri="neo4j+s://db:7687"))
    assert uri == "neo4j://db:7687" and config["encrypted"] is True
    assert isinstance(config["trusted_certificates"], neo4j.TrustSystemCAs)
    _uri, config = n4j.driver_settings(params(uri="bolt+ssc://db"))
    assert isinstance(config["trusted_certificates"], neo4j.TrustAll)
    _uri, config = n4j.driver_settings(params(uri="bolt+s://db", tls_verify=False))
    assert isinstance(config["trusted_certificates"], neo4j.TrustAll)
    ca_file = tmp_path / "ca.pem"
    _uri, config = n4j.driver_settings(params(tls_ca_file=str(ca_file)))
    assert config["encrypted"] is True and isinstance(config["trusted_certificates"], neo4j.TrustCustomCAs)


def test_client_certificate(tmp_path):
    _uri, config = n4j.driver_settings(params(tls_client_cert=str(tmp_path / "c.pem"),
                                              tls_client_key=str(tmp_path / "k.pem")))
    assert config["encrypted"] is True and config["client_certificate"] is not None
    with pytest.raises(n4j.Neo4jOpError):
        n4j.driver_settings(params(tls_client_key="k.pem"))


def test_password_is_no_log_with_env_fallback():
    spec = n4j.connection_argument_spec()
    assert spec["password"]["no_log"] is True
    assert spec["password"]["fallback"][1] == ["NEO4J_PASSWORD"]
