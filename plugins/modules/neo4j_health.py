#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: neo4j_health
short_description: Check that a Neo4j server answers and that its databases are online
version_added: 0.1.0
description:
  - Connects over Bolt with the official Neo4j driver and reports the server's agent, version and edition, every
    database with its current and requested status and role (C(SHOW DATABASES)), the round-trip latency of
    C(RETURN 1) (minimum, median and maximum over O(latency_samples)), optionally whether the database accepts
    writes, and for clusters the servers and their state (C(SHOW SERVERS)).
  - Healthy means every database is online (or, with O(require_all_online=false), the O(required_databases) and
    the default one), every database in O(required_databases) exists, the write probe (when enabled) succeeds, the
    median latency is within O(latency_threshold_ms) (when set) and every cluster server is enabled and available.
  - When not healthy the task fails and its message names each problem. With O(wait=true) it probes again with
    exponential backoff (O(initial_delay) doubling up to O(max_delay)) until healthy or O(timeout) seconds have
    passed. An unreachable server or unavailable database is retried; an authentication, TLS or configuration
    error fails at once.
  - Read-only. The write probe creates one unlabelled node in a transaction that is always rolled back, so no data
    or token is left behind. The task never reports a change.
author:
  - neo4j_azure.aks contributors (@neo4j-azure)
extends_documentation_fragment:
  - neo4j_azure.aks.neo4j
  - neo4j_azure.aks.attributes
attributes:
  check_mode:
    support: full
    details: The checks are read-only and run the same in check mode.
  diff_mode:
    support: none
options:
  required_databases:
    description:
      - Databases that must exist and be online. A missing one is named as missing.
      - O(database), when set, is required too.
    type: list
    elements: str
    default: []
  require_all_online:
    description:
      - Every database must be online. With V(false), only O(required_databases) and the default database count.
    type: bool
    default: true
  write_probe:
    description:
      - Check that the database accepts writes by creating an unlabelled node in a transaction that is rolled back.
    type: bool
    default: false
  latency_samples:
    description: Number of C(RETURN 1) round trips to time, on one open session.
    type: int
    default: 5
  latency_threshold_ms:
    description: Unhealthy when the median round trip takes longer than this many milliseconds.
    type: float
  check_servers:
    description: On Enterprise servers, also check C(SHOW SERVERS) (every server enabled and available).
    type: bool
    default: true
  wait:
    description: Probe again with exponential backoff until healthy or O(timeout) has passed.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to keep probing with O(wait=true). One probe can take up to O(connection_timeout) more.
    type: float
    default: 300.0
  initial_delay:
    description:
      - Seconds from the start of the first probe to the start of the second; the delay doubles after each failed
        probe. A probe that takes longer than the delay is followed by the next one at once.
      - The defaults (0.5, and O(max_delay) 0.5) probe every half second, start to start. A server that became
        ready is noticed a quarter of a second later on average, plus the one probe that finds it healthy; never more
        than two probes a second. Raise O(max_delay) to probe a slow-starting server less often.
    type: float
    default: 0.5
  max_delay:
    description: Upper bound of the delay between the starts of two probes, in seconds.
    type: float
    default: 0.5
"""

EXAMPLES = r"""
- name: Wait until Neo4j is up and every database is online
  neo4j_azure.aks.neo4j_health:
    uri: bolt://neo4j.example.internal:7687
    password: "{{ neo4j_password }}"
    wait: true
    timeout: 600
    required_databases: [neo4j]
    write_probe: true
    latency_threshold_ms: 50
  register: health

- name: Show the version and the latency
  ansible.builtin.debug:
    msg: "{{ health.server.version }} {{ health.server.edition }}, median {{ health.latency_ms.median }} ms"

- name: Check a Neo4j reachable only inside the cluster, through a port-forward the task opens and closes
  neo4j_azure.aks.neo4j_health:
    uri: bolt://localhost:7687
    password: "{{ neo4j_password }}"
    port_forward:
      namespace: neo4j
      service: neo4j
      kubeconfig: "{{ infra_kubeconfig }}"
    wait: true

- name: Check a cluster over TLS with a private CA
  neo4j_azure.aks.neo4j_health:
    uri: neo4j+s://neo4j.example.internal:7687
    tls_ca_file: /etc/pki/neo4j-ca.pem
    password: "{{ neo4j_password }}"
"""

RETURN = r"""
healthy:
  description: Whether every check passed (always V(true) when the task succeeds).
  returned: always
  type: bool
  sample: true
problems:
  description: One sentence per unhealthy finding; empty when healthy.
  returned: always
  type: list
  elements: str
  sample: ["database 'sales' is offline (requested online) on 10.0.0.5:7687"]
server:
  description: The server that answered.
  returned: when the server was reached
  type: dict
  contains:
    address:
      description: Address the driver connected to.
      type: str
      sample: 127.0.0.1:7687
    agent:
      description: The server's agent string.
      type: str
      sample: Neo4j/5.26.31
    version:
      description: Version of the Neo4j kernel (C(dbms.components())).
      type: str
      sample: 5.26.31
    edition:
      description: V(community) or V(enterprise).
      type: str
      sample: community
    protocol_version:
      description: Negotiated Bolt protocol version.
      type: str
      sample: "5.8"
database:
  description: Database that the latency and write probes ran against.
  returned: when the server was reached
  type: str
  sample: neo4j
databases:
  description: Every row of C(SHOW DATABASES) (one per database and server in a cluster).
  returned: when the server was reached
  type: list
  elements: dict
  contains:
    name:
      description: Database name.
      type: str
    type:
      description: V(standard), V(system) or V(composite).
      type: str
    access:
      description: V(read-write) or V(read-only).
      type: str
    role:
      description: Role on that server (V(primary), V(secondary), V(unknown)).
      type: str
    writer:
      description: Whether that server is the writer for the database.
      type: bool
    address:
      description: Bolt address of the server hosting this copy.
      type: str
    requested_status:
      description: Status the database should have.
      type: str
    current_status:
      description: Status it has (V(online), V(offline), V(starting), V(quarantined), ...).
      type: str
    status_message:
      description: The server's explanation when the status is not the requested one.
      type: str
    default:
      description: Whether this is the default database.
      type: bool
    home:
      description: Whether this is the home database of O(user).
      type: bool
    aliases:
      description: Aliases of the database.
      type: list
      elements: str
servers:
  description: C(SHOW SERVERS) of a cluster (name, address, state, health, hosting); null on Community.
  returned: when the server was reached
  type: list
  elements: dict
latency_ms:
  description: Round-trip time of C(RETURN 1) in milliseconds; null when the database is not online.
  returned: when the server was reached
  type: dict
  sample: {"min": 0.61, "median": 0.74, "max": 1.9, "samples": 5}
accepts_writes:
  description: Result of the write probe; null when O(write_probe=false).
  returned: when the server was reached
  type: bool
write_probe_error:
  description: Why the write probe failed, when it did.
  returned: when the server was reached
  type: str
attempts:
  description: Number of probes made.
  returned: always
  type: int
  sample: 1
elapsed_s:
  description: Seconds from the first probe to the answer.
  returned: always
  type: float
  sample: 0.35
port_forward:
  description: The tunnel used, when O(port_forward) is set.
  returned: when O(port_forward) is set
  type: dict
  contains:
    pod:
      description: Pod the last connection went to.
      type: str
    port:
      description: Port of the pod.
      type: int
    connections:
      description: Streams opened (one per driver connection).
      type: int
  sample: {pod: neo4j-0, port: 7687, connections: 2}
error_kind:
  description:
    - Kind of failure, on failure only - V(unhealthy), V(unreachable), V(auth), V(tls), V(database_unavailable),
      V(database_not_found), V(credentials_expired), V(configuration) or V(query).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j import (
    connection_argument_spec, require_driver, through_port_forward)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.neo4j_health import (
    HealthCheck, health_argument_spec)
from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import run_module


def check(params):
    return dict(HealthCheck(params).run(), changed=False)


def main():
    module = AnsibleModule(argument_spec={**connection_argument_spec(), **health_argument_spec()},
                           supports_check_mode=True)
    require_driver(module)
    run_module(module, lambda: through_port_forward(module.params, check))


if __name__ == "__main__":
    main()
