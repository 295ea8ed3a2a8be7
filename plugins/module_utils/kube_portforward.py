# -*- coding: utf-8 -*-
# Copyright: Contributors to the neo4j_azure.aks collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A port-forward to a pod through the Kubernetes API server, opened and closed by the module that needs it.

What `kubectl port-forward` does, inside the module process: a listener on 127.0.0.1 (an ephemeral port) whose
every accepted connection gets its own port-forward stream (the API server's pods/portforward subresource,
over a websocket, with the kubernetes Python client kubernetes.core already requires). A pod is chosen per
connection, so a driver that reconnects after a pod restart reaches the new pod. Nothing outlives the
context manager: the listener and every relay close when it exits.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import traceback

from ansible_collections.neo4j_azure.aks.plugins.module_utils.errors import ModuleError

try:
    from kubernetes import client as kube_client
    from kubernetes import config as kube_config
    from kubernetes.stream import portforward as kube_portforward
except ImportError:
    kube_client = None
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()
else:
    KUBERNETES_IMPORT_ERROR = None

_BUFFER = 65536


def port_forward_spec():
    """The `port_forward` option (documented by the neo4j_health module)."""
    return {
        "type": "dict",
        "options": {
            "namespace": {"type": "str", "required": True},
            "pod": {"type": "str"},
            "service": {"type": "str"},
            "port": {"type": "int", "default": 7687},
            "kubeconfig": {"type": "path"},
            "context": {"type": "str"},
        },
        "mutually_exclusive": [["pod", "service"]],
        "required_one_of": [["pod", "service"]],
    }


class PortForwardError(ModuleError):
    """The port-forward could not be set up (no such pod or Service, no ready pod, API server refused)."""


def _running(pod):
    return (pod.status.phase or "") == "Running" and not pod.metadata.deletion_timestamp


def _ready(pod):
    return _running(pod) and any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


class PodPortForward:
    """Context manager: `with PodPortForward(params) as fwd:` then connect to 127.0.0.1:fwd.local_port."""

    def __init__(self, params):
        if kube_client is None:
            raise PortForwardError("port_forward needs the kubernetes Python client (pip install kubernetes), "
                                   "the one kubernetes.core uses")
        self.namespace = params["namespace"]
        self.pod = params.get("pod")
        self.service = params.get("service")
        self.port = params.get("port") or 7687
        kubeconfig = params.get("kubeconfig") or os.environ.get("K8S_AUTH_KUBECONFIG") or None
        try:
            if kubeconfig is None and not os.environ.get("KUBECONFIG") and \
                    os.environ.get("KUBERNETES_SERVICE_HOST"):
                kube_config.load_incluster_config()
                api_client = kube_client.ApiClient()
            else:
                api_client = kube_config.new_client_from_config(config_file=kubeconfig,
                                                                context=params.get("context"))
        except Exception as err:  # pylint: disable=broad-except  # reported with the option to fix
            raise PortForwardError(f"port_forward: cannot load the cluster credentials from "
                                   f"{kubeconfig or 'KUBECONFIG / ~/.kube/config'}: {err}") from err
        self.core = kube_client.CoreV1Api(api_client)
        self.target = None
        self.last_error = None
        self.connections = 0
        self._listener = None
        self._stop = threading.Event()
        self._threads = []

    @property
    def what(self):
        return f"pod {self.namespace}/{self.pod}" if self.pod else f"service {self.namespace}/{self.service}"

    def resolve(self):
        """(pod name, container port) the next connection goes to."""
        try:
            if self.pod:
                pod = self.core.read_namespaced_pod(self.pod, self.namespace)
                return pod.metadata.name, self.port
            svc = self.core.read_namespaced_service(self.service, self.namespace)
        except Exception as err:  # pylint: disable=broad-except
            raise PortForwardError(f"port_forward: cannot read {self.what}: {_reason(err)}") from err
        selector = svc.spec.selector or {}
        if not selector:
            raise PortForwardError(f"port_forward: {self.what} has no pod selector; name a pod in port_forward.pod")
        labels = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=labels).items
        # As kubectl port-forward svc/...: a ready pod first, else a running one (a Neo4j whose database is down is
        # running but not ready, and is exactly what a health check should reach and report).
        ranked = sorted((p for p in pods if _running(p)), key=lambda p: (not _ready(p), p.metadata.name))
        if not ranked:
            raise PortForwardError(f"port_forward: no running pod behind {self.what} (selector {labels}); "
                                   f"{len(pods)} pod(s) match")
        target = ranked[0]
        port = self.port
        for svc_port in svc.spec.ports or []:
            if svc_port.port == self.port:
                port = _container_port(target, svc_port.target_port, self.port)
        return target.metadata.name, port

    def __enter__(self):
        self.target = self.resolve()  # fail now, with the reason, rather than on the first connection
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        thread = threading.Thread(target=self._accept, name="port-forward listener", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    @property
    def local_port(self):
        return self._listener.getsockname()[1]

    def __exit__(self, *exc):
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._relay, args=(conn,), name="port-forward relay", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _relay(self, conn):
        stream = None
        try:
            try:
                self.target = self.resolve() if self.service else self.target
                pod, port = self.target
                stream = kube_portforward(self.core.connect_get_namespaced_pod_portforward, pod, self.namespace,
                                          ports=str(port))
            except Exception as err:  # pylint: disable=broad-except  # the driver sees a closed connection
                self.last_error = f"{self.what}: {_reason(err)}"
                return
            self.connections += 1
            remote = stream.socket(port)
            remote.setblocking(True)
            pairs = {conn: remote, remote._socket: conn}  # pylint: disable=protected-access
            while not self._stop.is_set():
                readable, _w, _x = select.select(list(pairs), [], [], 0.5)
                for sock in readable:
                    data = sock.recv(_BUFFER)
                    if not data:
                        error = stream.error(port)
                        if error:
                            self.last_error = f"{self.what} port {port}: {error.strip()}"
                        return
                    pairs[sock].sendall(data)
        except OSError as err:
            self.last_error = f"{self.what}: {err}"
        finally:
            conn.close()
            if stream is not None:
                stream.close()


def _container_port(pod, target_port, default):
    if target_port is None:
        return default
    if isinstance(target_port, int) or str(target_port).isdigit():
        return int(target_port)
    for container in pod.spec.containers or []:
        for port in container.ports or []:
            if port.name == target_port:
                return port.container_port
    return default


def _reason(err):
    status = getattr(err, "status", None)
    reason = getattr(err, "reason", None)
    if status:
        return f"HTTP {status} {reason or ''}".strip()
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
