"""plugins/module_utils/k8s_object.py: field() walks an API object and stops at a missing or null step."""

from __future__ import annotations

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.k8s_object import field

pytestmark = pytest.mark.unit

POD = {"metadata": {"name": "neo4j-0", "labels": {"app": "neo4j"}}, "status": {"containerStatuses": None}}


def test_field_returns_the_value_at_the_path():
    assert field(POD, "metadata", "labels", "app") == "neo4j"
    assert field(POD, "metadata") is POD["metadata"]


def test_field_returns_the_default_for_a_missing_a_null_or_a_non_object_step():
    assert field(POD, "spec", "replicas", default=1) == 1
    assert field(POD, "status", "containerStatuses", default=[]) == []
    assert field(POD, "metadata", "name", "first") is None
    assert field(None, "metadata", default="x") == "x"
