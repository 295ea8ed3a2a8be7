"""plugins/filter/k8s_state.py: k8s_differs decides from a read whether a write is needed."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.neo4j_azure.aks.plugins.filter.k8s_state import FilterModule, k8s_differs

pytestmark = pytest.mark.unit

DESIRED = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
           "metadata": {"name": "neo4j-premium", "labels": {"app.kubernetes.io/part-of": "neo4j"}},
           "provisioner": "disk.csi.azure.com", "parameters": {"skuName": "Premium_ZRS", "cachingMode": "ReadOnly"},
           "reclaimPolicy": "Retain", "allowVolumeExpansion": True, "volumeBindingMode": "WaitForFirstConsumer"}


def live(**changes):
    obj = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
           "metadata": {"name": "neo4j-premium", "uid": "1234", "resourceVersion": "77",
                        "labels": {"app.kubernetes.io/part-of": "neo4j", "added-by": "someone"},
                        "managedFields": [{"manager": "OpenAPI-Generator"}]},
           "provisioner": "disk.csi.azure.com", "parameters": {"skuName": "Premium_ZRS", "cachingMode": "ReadOnly"},
           "reclaimPolicy": "Retain", "allowVolumeExpansion": True, "volumeBindingMode": "WaitForFirstConsumer"}
    obj.update(changes)
    return obj


def test_same_object_with_server_fields_needs_no_write():
    assert k8s_differs(live(), DESIRED) is False
    assert k8s_differs({"resources": [live()]}, DESIRED) is False  # a registered k8s_info result
    assert k8s_differs([live()], DESIRED) is False


def test_missing_object_needs_a_write():
    assert k8s_differs({"resources": []}, DESIRED) is True
    assert k8s_differs([], DESIRED) is True
    assert k8s_differs(None, DESIRED) is True


@pytest.mark.parametrize("change", [
    {"reclaimPolicy": "Delete"},
    {"parameters": {"skuName": "Premium_LRS", "cachingMode": "ReadOnly"}},
    {"parameters": {"skuName": "Premium_ZRS"}},  # a wanted key missing
    {"metadata": {"name": "neo4j-premium", "labels": {}}},
    {"allowVolumeExpansion": False},
])
def test_a_changed_or_missing_field_needs_a_write(change):
    assert k8s_differs(live(**change), DESIRED) is True


def test_scalars_compare_as_kubernetes_stores_them():
    desired = {"metadata": {"labels": {"replicas": 3, "enabled": True}}}
    assert k8s_differs({"metadata": {"labels": {"replicas": "3", "enabled": "true"}}}, desired) is False
    assert k8s_differs({"metadata": {"labels": {"replicas": "4", "enabled": "true"}}}, desired) is True


def test_lists_compare_by_element_and_length():
    desired = {"spec": {"ports": [{"port": 7687}]}}
    assert k8s_differs({"spec": {"ports": [{"port": 7687, "protocol": "TCP"}]}}, desired) is False
    assert k8s_differs({"spec": {"ports": [{"port": 7687}, {"port": 7474}]}}, desired) is True


def test_secret_data_compares_exactly():
    desired = {"kind": "Secret", "metadata": {"name": "auth"}, "type": "Opaque", "data": {"NEO4J_AUTH": "bmVvNGov"}}
    assert k8s_differs({"metadata": {"name": "auth"}, "type": "Opaque", "data": {"NEO4J_AUTH": "bmVvNGov"}},
                       desired) is False
    assert k8s_differs({"metadata": {"name": "auth"}, "type": "Opaque", "data": {"NEO4J_AUTH": "b3RoZXI="}},
                       desired) is True


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="at most one live object, got 2"):
        k8s_differs([live(), live()], DESIRED)
    with pytest.raises(AnsibleFilterError, match="desired object must be a mapping"):
        k8s_differs(live(), "StorageClass")


def test_filter_is_registered():
    assert FilterModule().filters()["k8s_differs"] is k8s_differs
