# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Neo4j connection options, shared by every module that talks Bolt (neo4j_azure.aks.neo4j)."""

    DOCUMENTATION = r"""
options:
  uri:
    description:
      - Bolt URI of the server, C(<scheme>://host[:port]).
      - Schemes V(bolt) (one server) and V(neo4j) (routing, for clusters), each plain, with V(+s) (TLS, the
        certificate is verified) or V(+ssc) (TLS, any certificate accepted).
      - Falls back to the E(NEO4J_URI) environment variable.
    type: str
    default: bolt://localhost:7687
  user:
    description:
      - User to log in as.
      - Falls back to the E(NEO4J_USERNAME) environment variable.
    type: str
    default: neo4j
    aliases: [username]
  password:
    description:
      - Password of O(user). Never logged.
      - Falls back to the E(NEO4J_PASSWORD) environment variable.
    type: str
  database:
    description:
      - Database the checks run against; the home database of O(user) when not set.
    type: str
  tls_verify:
    description:
      - Verify the server's certificate when TLS is used. V(false) is the same as the V(+ssc) schemes.
    type: bool
    default: true
  tls_ca_file:
    description:
      - PEM file with the CA certificate(s) to trust instead of the system's. Turns TLS on even with a plain
        V(bolt) or V(neo4j) URI.
    type: path
  tls_client_cert:
    description:
      - PEM client certificate for mutual TLS (needs neo4j driver 5.19 or newer). Turns TLS on.
    type: path
  tls_client_key:
    description:
      - PEM private key of O(tls_client_cert), when it is not in the same file.
    type: path
  connection_timeout:
    description:
      - Seconds to wait for a TCP connection and the Bolt handshake to a server.
    type: float
    default: 10.0
requirements:
  - neo4j (the official Neo4j Python driver, 5.x or 6.x)
"""
