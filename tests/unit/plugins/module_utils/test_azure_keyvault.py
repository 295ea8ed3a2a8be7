"""Password generation, expiry parsing and vault addresses of the Key Vault helpers (no network)."""

from __future__ import annotations

import datetime
import string

import pytest

from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure import AzureOpError
from ansible_collections.neo4j_azure.aks.plugins.module_utils.azure_keyvault import (
    generate_password, parse_expires, vault_url)


@pytest.mark.parametrize("classes", [["lower"], ["lower", "upper", "digits"], ["upper", "digits", "special"]])
def test_generated_password_has_each_class_and_nothing_else(classes):
    pools = {"lower": string.ascii_lowercase, "upper": string.ascii_uppercase, "digits": string.digits,
             "special": "-_"}
    for dummy in range(50):
        value = generate_password(12, classes, "-_")
        assert len(value) == 12
        assert set(value) <= set("".join(pools[c] for c in classes))
        assert all(set(value) & set(pools[c]) for c in classes)


def test_generated_passwords_differ():
    assert len({generate_password(32, ["lower", "upper", "digits"]) for dummy in range(20)}) == 20


@pytest.mark.parametrize("length, classes, special, message", [
    (6, ["lower"], "-", "at least 8"),
    (8, [], "-", "at least one character class"),
    (8, ["special"], "", "must not be empty"),
])
def test_generation_rejects_bad_options(length, classes, special, message):
    with pytest.raises(AzureOpError, match=message) as err:
        generate_password(length, classes, special)
    assert err.value.option == "generate"


def test_parse_expires():
    utc = datetime.timezone.utc
    assert parse_expires("2027-06-30T00:00:00Z") == datetime.datetime(2027, 6, 30, tzinfo=utc)
    assert parse_expires("2027-06-30T02:00:00+02:00") == datetime.datetime(2027, 6, 30, tzinfo=utc)
    assert parse_expires("2027-06-30T00:00:00") == datetime.datetime(2027, 6, 30, tzinfo=utc)
    assert parse_expires(None) is None
    with pytest.raises(AzureOpError, match="ISO 8601") as err:
        parse_expires("tomorrow")
    assert err.value.option == "expires"


def test_vault_url():
    assert vault_url({"vault_url": "https://kv.vault.azure.net/"}) == "https://kv.vault.azure.net"
    assert vault_url({"vault_name": "neo4j-prod-kv"}) == "https://neo4j-prod-kv.vault.azure.net"
    assert vault_url({"vault_name": "neo4jkv", "cloud_environment": "AzureChinaCloud"}) == \
        "https://neo4jkv.vault.azure.cn"
    with pytest.raises(AzureOpError, match="vault_name"):
        vault_url({"vault_name": "-bad"})
