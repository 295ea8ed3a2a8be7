"""azure_kubeconfig: fetching a cluster's kubeconfig with fake SDK clients (no network); the file is written
atomically with mode 0600, only when it differs, never in check mode."""

from __future__ import annotations

import base64
import os
from types import SimpleNamespace

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils import azure_kubeconfig as kc
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_kubeconfig_access import AccessError

KUBECONFIG = b"apiVersion: v1\nkind: Config\ncurrent-context: aks-it\ncontexts: []\n"


class FakeClusters:
    def __init__(self, cluster, content=KUBECONFIG):
        self.cluster = cluster
        self.content = content
        self.calls = []

    def get(self, rg, name):
        self.calls.append(("get", rg, name))
        return self.cluster

    def _credentials(self, kind):
        self.calls.append((kind,))
        return SimpleNamespace(kubeconfigs=[SimpleNamespace(name="clusterUser", value=self.content)])

    def list_cluster_admin_credentials(self, rg, name):
        return self._credentials("admin")

    def list_cluster_user_credentials(self, rg, name):
        return self._credentials("user")


def fetcher(tmp_path, cluster=SimpleNamespace(disable_local_accounts=False), check_mode=False, **params):
    clusters = FakeClusters(cluster)
    clients = SimpleNamespace(containerservice=SimpleNamespace(managed_clusters=clusters))
    args = {"resource_group": "rg1", "cluster_name": "aks1", "credential_type": "user",
            "path": str(tmp_path / "kube" / "config")}
    args.update(params)
    return kc.KubeconfigFetcher(clients, args, check_mode), clusters


def test_writes_0600_then_unchanged(tmp_path):
    first, _arm = fetcher(tmp_path)
    result = first.ensure()
    assert result["changed"] is True and result["context"] == "aks-it"
    path = result["path"]
    assert open(path, "rb").read() == KUBECONFIG and kc.file_mode(path) == 0o600
    again, _arm = fetcher(tmp_path)
    assert again.ensure()["changed"] is False


def test_a_looser_mode_is_a_change(tmp_path):
    fetcher(tmp_path)[0].ensure()
    path = str(tmp_path / "kube" / "config")
    os.chmod(path, 0o644)
    assert fetcher(tmp_path)[0].ensure()["changed"] is True
    assert kc.file_mode(path) == 0o600


def test_check_mode_writes_nothing(tmp_path):
    result = fetcher(tmp_path, check_mode=True)[0].ensure()
    assert result["changed"] is True
    assert not os.path.exists(result["path"])


def test_base64_string_values_are_decoded(tmp_path):
    item, clusters = fetcher(tmp_path)
    clusters.content = base64.b64encode(KUBECONFIG).decode()
    assert item.credentials() == KUBECONFIG


def test_missing_cluster_names_the_option(tmp_path):
    item, _arm = fetcher(tmp_path, cluster=None)
    with pytest.raises(AzureOpError) as err:
        item.ensure()
    assert err.value.option == "cluster_name" and "aks1" in err.value.message


def test_admin_on_a_cluster_without_local_accounts_suggests_user(tmp_path):
    item, clusters = fetcher(tmp_path, cluster=SimpleNamespace(disable_local_accounts=True), credential_type="admin")
    with pytest.raises(AzureOpError) as err:
        item.ensure()
    assert err.value.option == "credential_type"
    assert "disableLocalAccounts" in err.value.message and "credential_type=user" in err.value.message
    assert ("admin",) not in clusters.calls  # refused before asking ARM for credentials it would deny


def test_user_credentials_work_without_local_accounts(tmp_path):
    item, clusters = fetcher(tmp_path, cluster=SimpleNamespace(disable_local_accounts=True))
    assert item.ensure()["changed"] is True and ("user",) in clusters.calls


def test_no_kubeconfig_in_the_answer(tmp_path):
    item, clusters = fetcher(tmp_path)
    clusters._credentials = lambda kind: SimpleNamespace(kubeconfigs=[])
    with pytest.raises(AzureOpError) as err:
        item.ensure()
    assert err.value.code == "NoKubeconfig"


def test_current_context_of_garbage_is_none():
    assert kc.current_context(b"{not yaml: [") is None
    assert kc.current_context(b"- a list") is None


EXEC_KUBECONFIG = b"""apiVersion: v1
kind: Config
current-context: aks1
clusters: [{name: aks1, cluster: {server: "https://aks1.example:443"}}]
contexts: [{name: aks1, context: {cluster: aks1, user: u}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin,
  args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,
         --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, t1, --login, devicecode]}}}]
"""


def test_check_access_runs_on_the_converted_login_before_writing(tmp_path, monkeypatch):
    seen = []

    def refuse(kubeconfig, groups):
        seen.append((kubeconfig["users"][0]["user"]["exec"]["args"][:3], groups))
        raise AccessError("refused", status_code=403, option="admin_group_object_ids")
    monkeypatch.setattr(kc, "check_access", refuse)
    fetch, clusters = fetcher(tmp_path, auth_source="service_principal", client_id="c1", tenant="t1",
                              check_access=True, admin_group_object_ids=["g1"])
    clusters.content = EXEC_KUBECONFIG
    with pytest.raises(AccessError):
        fetch.ensure()
    assert seen == [(["get-token", "--login", "spn"], ["g1"])]
    assert not (tmp_path / "kube" / "config").exists()  # a login that does not get in writes nothing

    monkeypatch.setattr(kc, "check_access", lambda kubeconfig, groups: {"object_id": "o1", "status_code": 200})
    result = fetch.ensure()
    assert result["changed"] and result["login"] == "spn" and result["access"] == {"object_id": "o1",
                                                                                   "status_code": 200}


def test_check_access_skips_certificate_kubeconfigs(tmp_path, monkeypatch):
    monkeypatch.setattr(kc, "check_access", lambda *args: pytest.fail("no kubelogin user to check"))
    result = fetcher(tmp_path, check_access=True)[0].ensure()
    assert result["login"] is None and "access" not in result
