"""Smoke tests: the test Neo4j server and Azurite are real, and fail like the real services."""

from __future__ import annotations

import uuid

import pytest


def test_neo4j_authenticates_and_answers(testenv_for):
    neo4j = pytest.importorskip("neo4j")
    env = testenv_for("neo4j")
    auth = (env["NEO4J_USERNAME"], env["NEO4J_PASSWORD"])
    with neo4j.GraphDatabase.driver(env["NEO4J_URI"], auth=auth) as driver:
        records = driver.execute_query("RETURN 1 AS one").records
        assert records[0]["one"] == 1
        info = driver.get_server_info()
        assert info.agent.startswith("Neo4j/5.26")
    with neo4j.GraphDatabase.driver(env["NEO4J_URI"], auth=(env["NEO4J_USERNAME"], "wrong-password")) as driver:
        with pytest.raises(neo4j.exceptions.AuthError):
            driver.verify_connectivity()


def test_blob_round_trip_through_azurite(testenv_for):
    from azure.core.exceptions import ResourceNotFoundError  # pylint: disable=import-outside-toplevel
    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel

    env = testenv_for("azurite")
    service = BlobServiceClient.from_connection_string(env["AZURE_STORAGE_CONNECTION_STRING"])
    container = service.get_container_client(f"smoke-{uuid.uuid4().hex[:8]}")
    container.create_container()
    try:
        payload = uuid.uuid4().bytes * 1000
        container.upload_blob("dir/backup.dump", payload, metadata={"backup_complete": "true"})
        blob = container.get_blob_client("dir/backup.dump")
        assert blob.download_blob().readall() == payload
        assert blob.get_blob_properties().metadata == {"backup_complete": "true"}
        assert [b.name for b in container.list_blobs(name_starts_with="dir/")] == ["dir/backup.dump"]
        blob.delete_blob()
        with pytest.raises(ResourceNotFoundError):
            blob.download_blob()
    finally:
        container.delete_container()
