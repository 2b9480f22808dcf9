"""BlobStore against Azurite, and storage failures surfacing as StorageError."""

from __future__ import annotations

import logging

import pytest

from shared.config import Settings
from shared.errors import Conflict, NotFound, StorageError
from shared.storage.blobs import BlobStore
from shared.storage.trained_models import ModelStore

pytestmark = pytest.mark.integration


def test_bytes_round_trip_exactly(settings: Settings) -> None:
    store = BlobStore(settings)
    data = b"line one\r\nline two\n\x00\xff"
    store.put_bytes("jobs/j1/shard-0.spacy", data)
    assert store.get_bytes("jobs/j1/shard-0.spacy") == data
    assert store.exists("jobs/j1/shard-0.spacy")
    store.put_bytes("jobs/j1/shard-0.spacy", b"new")
    assert store.get_bytes("jobs/j1/shard-0.spacy") == b"new"


def test_put_without_overwrite_refuses_existing_blob(settings: Settings) -> None:
    store = BlobStore(settings)
    store.put_bytes("once.bin", b"1", overwrite=False)
    with pytest.raises(Conflict) as caught:
        store.put_bytes("once.bin", b"2", overwrite=False)
    assert "once.bin" in caught.value.message
    assert store.get_bytes("once.bin") == b"1"


def test_json_round_trip_keeps_non_ascii(settings: Settings) -> None:
    store = BlobStore(settings)
    value = {"projectName": "caf\u00e9", "entities": [{"category": "Date", "offset": 3}], "n": None}
    store.put_json("projects/p/assets.json", value)
    assert store.get_json("projects/p/assets.json") == value
    assert "caf\u00e9".encode() in store.get_bytes("projects/p/assets.json")


def test_missing_blob_is_not_found_naming_it(settings: Settings) -> None:
    store = BlobStore(settings)
    with pytest.raises(NotFound) as caught:
        store.get_bytes("models/p/none.bin")
    assert "models/p/none.bin" in caught.value.message
    with pytest.raises(NotFound):
        store.get_json("models/p/none.json")
    assert not store.exists("models/p/none.bin")
    store.delete("models/p/none.bin")  # deleting a missing blob is fine


def test_list_and_delete_prefix(settings: Settings) -> None:
    store = BlobStore(settings)
    for name in ["jobs/a/1", "jobs/a/2", "jobs/ab/1", "jobs/b/1", "models/x"]:
        store.put_bytes(name, b"x")
    assert store.list_names("jobs/a/") == ["jobs/a/1", "jobs/a/2"]
    assert store.list_names("jobs/") == ["jobs/a/1", "jobs/a/2", "jobs/ab/1", "jobs/b/1"]
    assert len(store.list_names()) == 5
    assert store.delete_prefix("jobs/a/") == 2
    assert store.list_names("jobs/") == ["jobs/ab/1", "jobs/b/1"]
    assert store.delete_prefix("nothing/") == 0
    with pytest.raises(ValueError):
        store.delete_prefix("")


def test_unreachable_storage_is_a_storage_error(
    unreachable_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # issue 10 #6: the message reaches clients, so it names no table, container, host or port; the
    # log has the call that failed.
    caplog.set_level(logging.WARNING, logger="shared.storage.clients")
    with pytest.raises(StorageError) as caught:
        BlobStore(unreachable_settings).get_bytes("x")
    assert_generic(caught.value.message, unreachable_settings.app_container)
    assert unreachable_settings.app_container in caplog.text
    with pytest.raises(StorageError) as caught:
        ModelStore(unreachable_settings).list("proj")
    assert_generic(caught.value.message, unreachable_settings.models_table)
    assert unreachable_settings.models_table in caplog.text


def assert_generic(message: str, resource: str) -> None:
    assert "unreachable" in message and "Retry" in message, message
    for internal in (resource, "127.0.0.1", "http", "table", "container", "devstoreaccount1"):
        assert internal not in message, (internal, message)
