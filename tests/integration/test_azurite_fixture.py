import pytest
from azure.storage.blob import BlobServiceClient

pytestmark = pytest.mark.integration


def test_azurite_round_trips_a_blob(storage_connection: str, unique_name: str) -> None:
    service = BlobServiceClient.from_connection_string(storage_connection)
    container = service.create_container(unique_name)
    container.upload_blob("a.txt", b"hello\r\nworld")
    assert container.download_blob("a.txt").readall() == b"hello\r\nworld"
