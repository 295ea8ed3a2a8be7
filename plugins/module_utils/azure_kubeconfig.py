# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fetch an AKS cluster's kubeconfig, apply the Entra ID login (kubelogin) to it, optionally prove the login reaches
the cluster, and write it atomically (mode 0600), changed only when the content differs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import tempfile

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError, azure_op
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_kubeconfig_access import check_access
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_kubeconfig_login import apply_login

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False


def current_context(kubeconfig_bytes):
    """The current-context of a kubeconfig (None when unreadable)."""
    if not HAS_YAML:
        return None
    try:
        data = yaml.safe_load(kubeconfig_bytes)
    except yaml.YAMLError:
        return None
    return data.get("current-context") if isinstance(data, dict) else None


def read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def file_mode(path):
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return None


def write_atomically(path, content, mode=0o600):
    """Write content to path via a temporary file in the same directory and rename (never half-written)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class KubeconfigFetcher:
    def __init__(self, clients, params, check_mode=False):
        self.clients = clients
        self.params = params
        self.check_mode = check_mode
        self.kubeconfig = None

    @azure_op("get managed cluster", missing_ok=True)
    def get_cluster(self):
        clusters = self.clients.containerservice.managed_clusters
        return clusters.get(self.params["resource_group"], self.params["cluster_name"])

    @azure_op("list cluster credentials")
    def credentials(self):
        ops = self.clients.containerservice.managed_clusters
        rg, name = self.params["resource_group"], self.params["cluster_name"]
        if self.params["credential_type"] == "admin":
            result = ops.list_cluster_admin_credentials(rg, name)
        else:
            result = ops.list_cluster_user_credentials(rg, name)
        kubeconfigs = list(result.kubeconfigs or [])
        if not kubeconfigs:
            raise AzureOpError("the cluster returned no kubeconfig", code="NoKubeconfig")
        value = kubeconfigs[0].value
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)

    def with_login(self, content):
        """The kubeconfig with its kubelogin users converted for the login option, and the mode applied (None
        for kubeconfigs without kubelogin: client certificates, admin credentials)."""
        if not HAS_YAML:
            raise AzureOpError("PyYAML is required to apply the login option (pip install PyYAML)", option="login")
        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError as err:
            raise AzureOpError("the cluster returned a kubeconfig that is not YAML: %s" % err, code="BadKubeconfig")
        if not isinstance(data, dict):
            raise AzureOpError("the cluster returned a kubeconfig that is not a mapping", code="BadKubeconfig")
        converted, login = apply_login(data, self.params)
        self.kubeconfig = converted
        if login is None or converted is data:
            return content, login
        return yaml.safe_dump(converted, sort_keys=False, default_flow_style=False).encode(), login

    def access(self, login):
        """check_access: the identity that logged in (object id), or None when not asked or not applicable
        (client certificates, device code)."""
        if not self.params.get("check_access") or login in (None, "devicecode"):
            return None
        return check_access(self.kubeconfig, self.params.get("admin_group_object_ids") or [])

    def ensure(self):
        cluster = self.get_cluster()
        if cluster is None:
            raise AzureOpError("managed cluster %s not found in resource group %s"
                               % (self.params["cluster_name"], self.params["resource_group"]),
                               code="ResourceNotFound", option="cluster_name")
        if self.params["credential_type"] == "admin" and getattr(cluster, "disable_local_accounts", False):
            raise AzureOpError("credential_type=admin: managed cluster %s has local accounts disabled "
                               "(disableLocalAccounts), so it has no admin credentials; use credential_type=user "
                               "(Entra ID login) instead" % self.params["cluster_name"],
                               code="BadRequest", option="credential_type")
        content, login = self.with_login(self.credentials())
        access = self.access(login)  # before writing: a login that does not get in changes nothing
        path = self.params["path"]
        before = read_file(path)
        changed = before != content or file_mode(path) != 0o600
        if changed and not self.check_mode:
            write_atomically(path, content)
        result = {"changed": changed, "path": path, "context": current_context(content),
                  "credential_type": self.params["credential_type"], "login": login}
        if access is not None:
            result["access"] = access
        if changed:
            # Paths and fingerprints only: the file's content is a credential.
            result["diff"] = {"before_header": path, "after_header": path,
                              "before": "" if before is None else "(kubeconfig, %d bytes)\n" % len(before),
                              "after": "(kubeconfig, %d bytes, mode 0600)\n" % len(content)}
        return result
