"""plugins/filter/quantity.py: Kubernetes quantities as numbers, and the volume resize plan of a StatefulSet."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.neo4j_azure.aks.plugins.filter.quantity import FilterModule, quantity_bytes, volume_resize_plan

GI = 1024 ** 3


@pytest.mark.parametrize(("quantity", "expected"), [
    ("10", 10),  # no suffix: the number itself (bytes for storage)
    (10, 10),
    ("0", 0),
    ("1Ki", 1024),
    ("1Mi", 1024 ** 2),
    ("32Gi", 32 * GI),
    ("1Ti", 1024 ** 4),
    ("2Pi", 2 * 1024 ** 5),
    ("1Ei", 1024 ** 6),
    ("1.5Gi", 1610612736),
    ("0.5Gi", GI // 2),
    (".5Gi", GI // 2),
    ("1.Gi", GI),
    ("500M", 500_000_000),
    ("1k", 1000),
    ("1G", 10 ** 9),
    ("3T", 3 * 10 ** 12),
    ("1P", 10 ** 15),
    ("1E", 10 ** 18),  # E alone is exa ...
    ("1e9", 10 ** 9),  # ... e/E with digits an exponent
    ("1E3", 1000),
    ("12e-1", 2),  # 1.2 rounds up, as Kubernetes' Value() does
    ("500m", 1),  # milli: half a byte rounds up
    ("+5Gi", 5 * GI),
    ("-1Gi", -GI),
    ("-1.5", -2),  # away from zero
    ("1024Mi", GI),
])
def test_quantity_bytes_reads_every_kubernetes_form(quantity, expected):
    assert quantity_bytes(quantity) == expected


def test_equal_sizes_in_different_units_compare_equal():
    assert quantity_bytes("1Ti") == quantity_bytes("1024Gi") == quantity_bytes("1048576Mi")
    assert quantity_bytes("1G") < quantity_bytes("1Gi")


@pytest.mark.parametrize("quantity", [
    "abc", "", "Gi", "32 Gi", " 32Gi", "32Gi ", "32GB", "32gi", "32Gib", "1.5.Gi", "1,5Gi", "0x10", "e3", "1e", "1e1.5",
    "--1", "32iG", "K", "1KI",
])
def test_quantity_bytes_rejects_what_is_not_a_quantity_and_quotes_it(quantity):
    with pytest.raises(AnsibleFilterError) as raised:
        quantity_bytes(quantity)
    assert repr(quantity) in str(raised.value)
    assert "not a Kubernetes quantity" in str(raised.value)


@pytest.mark.parametrize("quantity", [None, True, 1.5, ["1Gi"], {"size": "1Gi"}])
def test_quantity_bytes_rejects_other_types(quantity):
    with pytest.raises(AnsibleFilterError, match="expects a Kubernetes quantity"):
        quantity_bytes(quantity)


def statefulset(**sizes) -> dict:
    return {"metadata": {"name": "graph"},
            "spec": {"replicas": 1, "volumeClaimTemplates": [
                {"metadata": {"name": name}, "spec": {"resources": {"requests": {"storage": size}}}}
                for name, size in sizes.items()]}}


def test_same_sizes_change_nothing():
    plan = volume_resize_plan(statefulset(data="10Gi"), {"data": "10Gi"})
    assert plan == {"volumes": [{"name": "data", "current": "10Gi", "requested": "10Gi", "grow": False, "shrink": False}],
                    "grow": [], "shrink": [], "recreate": False}


def test_equal_value_in_another_unit_is_no_change():
    plan = volume_resize_plan(statefulset(data="1024Gi"), {"data": "1Ti"})
    assert plan["grow"] == [] and plan["shrink"] == [] and plan["recreate"] is False


def test_a_larger_size_grows_and_recreates_the_statefulset():
    plan = volume_resize_plan(statefulset(data="10Gi", logs="8Gi"), {"data": "20Gi", "logs": "8Gi"})
    assert [entry["name"] for entry in plan["grow"]] == ["data"]
    assert plan["grow"][0] == {"name": "data", "current": "10Gi", "requested": "20Gi", "grow": True, "shrink": False}
    assert plan["shrink"] == [] and plan["recreate"] is True


def test_a_smaller_size_shrinks_and_alone_does_not_recreate():
    plan = volume_resize_plan(statefulset(data="20Gi"), {"data": "10Gi"})
    assert plan["shrink"] == [{"name": "data", "current": "20Gi", "requested": "10Gi", "grow": False, "shrink": True}]
    assert plan["grow"] == [] and plan["recreate"] is False


def test_current_sizes_in_decimal_units_are_compared_by_value():
    # 10G (10^10 bytes) is less than 10Gi: asking 10Gi grows it; the old suffix table read 10G as 0.
    assert volume_resize_plan(statefulset(data="10G"), {"data": "10Gi"})["grow"]
    assert volume_resize_plan(statefulset(data="11G"), {"data": "10Gi"})["shrink"]


def test_an_added_or_removed_volume_recreates_without_resizing():
    added = volume_resize_plan(statefulset(data="10Gi"), {"data": "10Gi", "logs": "8Gi"})
    assert added["volumes"] == [{"name": "data", "current": "10Gi", "requested": "10Gi", "grow": False, "shrink": False}]
    assert added["recreate"] is True and added["grow"] == []
    removed = volume_resize_plan(statefulset(data="10Gi", logs="8Gi"), {"data": "10Gi"})
    assert [entry["name"] for entry in removed["volumes"]] == ["data"] and removed["recreate"] is True


def test_no_statefulset_yet_plans_nothing():
    assert volume_resize_plan({}, {"data": "10Gi"}) == {"volumes": [], "grow": [], "shrink": [], "recreate": False}


def test_template_order_is_kept():
    plan = volume_resize_plan(statefulset(logs="8Gi", data="10Gi", backups="64Gi"),
                              {"data": "10Gi", "backups": "64Gi", "logs": "8Gi"})
    assert [entry["name"] for entry in plan["volumes"]] == ["logs", "data", "backups"]


def test_bad_requested_size_is_quoted():
    with pytest.raises(AnsibleFilterError, match="'abc' is not a Kubernetes quantity"):
        volume_resize_plan(statefulset(data="10Gi"), {"data": "abc"})


def test_template_without_storage_request_is_named():
    sts = statefulset(data="10Gi")
    del sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]
    with pytest.raises(AnsibleFilterError, match="volume claim template 'data' of StatefulSet 'graph' requests no storage"):
        volume_resize_plan(sts, {"data": "10Gi"})


@pytest.mark.parametrize(("sts", "volumes", "message"), [
    (statefulset(data="10Gi"), ["data"], "requested sizes as a dict, not list"),
    ("graph", {"data": "10Gi"}, "expects a StatefulSet"),
])
def test_wrong_argument_types_are_refused(sts, volumes, message):
    with pytest.raises(AnsibleFilterError, match=message):
        volume_resize_plan(sts, volumes)


def test_filters_are_registered():
    assert FilterModule().filters() == {"quantity_bytes": quantity_bytes, "volume_resize_plan": volume_resize_plan}
