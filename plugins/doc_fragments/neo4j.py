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
  port_forward:
    description:
      - Reach a Neo4j that only the cluster can reach (no load balancer, the controller outside the VNet) through a
        port-forward the module opens to a pod through the Kubernetes API server and closes when it ends, as
        C(kubectl port-forward) does; no process is left behind.
      - The host and port of O(uri) are replaced by the local end of the tunnel; the scheme must be C(bolt) (or
        C(bolt+ssc)), since C(neo4j://) routing would send the driver to the servers' own addresses. Use
        O(tls_verify=false) or C(bolt+ssc) with TLS, as the certificate does not name 127.0.0.1.
      - Every connection opens a new stream, to a pod chosen again behind O(port_forward.service), so a module that
        waits (such as neo4j_health with C(wait=true)) reaches a restarting pod once it is back.
      - Needs the kubernetes Python client (as kubernetes.core does) and RBAC C(create) on C(pods/portforward).
    type: dict
    suboptions:
      namespace:
        description: Namespace of the pod or Service.
        type: str
        required: true
      pod:
        description: Name of the pod to forward to. Exclusive with O(port_forward.service).
        type: str
      service:
        description:
          - Name of a Service; each connection goes to its first ready pod (by name), else its first running pod
            (as C(kubectl port-forward svc/NAME)), on the container port behind the Service port O(port_forward.port).
        type: str
      port:
        description: Port of the pod (or of the Service) to reach.
        type: int
        default: 7687
      kubeconfig:
        description:
          - Kubeconfig file (exec plugins such as kubelogin work). Default C(K8S_AUTH_KUBECONFIG), then
            C(KUBECONFIG) or C(~/.kube/config), or the in-cluster service account.
        type: path
      context:
        description: Context of the kubeconfig (default its current one).
        type: str
requirements:
  - neo4j (the official Neo4j Python driver, 5.x or 6.x)
"""
