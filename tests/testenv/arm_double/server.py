"""The strict ARM test double: Azure Resource Manager + Entra ID token endpoint over HTTPS (standard library only).
See README.md for what it serves, how it is laid out and how to drive it.

    server.py --config CONFIG.json      (written by tests/testenv/components/arm.py)
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the package this file belongs to
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "arm_double"  # pylint: disable=redefined-builtin

# pylint: disable=wrong-import-position
from . import deployments, managed_clusters, resource_groups, resources  # noqa: E402
from .double import Double  # noqa: E402
from .routing import Handler, Router  # noqa: E402
# pylint: enable=wrong-import-position

# Tried in this order: the generic resources-by-id routes come last, after the typed ones they would also match.
ROUTE_MODULES = (resource_groups, deployments, managed_clusters, resources)


def build_router() -> Router:
    router = Router()
    for module in ROUTE_MODULES:
        module.register(router)
    return router


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="JSON written by the arm component")
    args = parser.parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    Handler.double = Double(config)
    Handler.router = build_router()
    server = ThreadingHTTPServer(("127.0.0.1", config["port"]), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(config["cert_file"], config["key_file"])
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    print(f"ARM test double listening on {config['endpoint']}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
