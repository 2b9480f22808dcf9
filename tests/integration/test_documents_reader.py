"""Reading the user's documents from the project's input container (Azurite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient

from shared.config import Settings
from shared.errors import InvalidArgument
from shared.ner.documents import MAX_DOCUMENT_CHARS
from shared.storage.documents import (
    MAX_DOCUMENT_BYTES,
    check_container,
    check_documents,
    iter_document_results,
    iter_documents,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def input_container(settings: Settings, unique_name: str) -> Iterator[str]:
    """The user's document container (not the app container), filled by each test."""
    name = f"{unique_name}-input"
    service = BlobServiceClient.from_connection_string(settings.storage_connection)
    service.create_container(name)
    yield name
    service.delete_container(name)


def upload(settings: Settings, container: str, name: str, data: bytes) -> None:
    service = BlobServiceClient.from_connection_string(settings.storage_connection)
    service.get_container_client(container).upload_blob(name, data, overwrite=True)


def test_documents_are_decoded_byte_exact_in_order(settings: Settings, input_container: str) -> None:
    upload(settings, input_container, "doc1.txt", "Loan of $500\r\nsigned caf\u00e9".encode())
    upload(settings, input_container, "folder/doc2.txt", b"\xef\xbb\xbfWith BOM \xf0\x9f\x98\x80")
    result = list(iter_documents(settings, input_container, ["folder/doc2.txt", "doc1.txt"]))
    assert result == [
        ("folder/doc2.txt", "With BOM \U0001f600"),
        ("doc1.txt", "Loan of $500\r\nsigned caf\u00e9"),
    ]


def test_documents_are_streamed_one_at_a_time(settings: Settings, input_container: str) -> None:
    upload(settings, input_container, "a.txt", b"first")
    upload(settings, input_container, "c.txt", b"third")
    documents = iter_documents(settings, input_container, ["a.txt", "missing.txt", "c.txt"])
    # The first document arrives; the missing second one fails only when the consumer reaches it.
    assert next(documents) == ("a.txt", "first")
    with pytest.raises(InvalidArgument) as caught:
        next(documents)
    assert caught.value.target == "missing.txt"
    assert "missing.txt" in caught.value.message and input_container in caught.value.message


def test_missing_container_names_the_field_and_container(settings: Settings, unique_name: str) -> None:
    container = f"{unique_name}-nothere"
    with pytest.raises(InvalidArgument) as caught:
        check_container(settings, container)
    assert caught.value.target == "storageInputContainerName"
    assert container in caught.value.message
    with pytest.raises(InvalidArgument) as caught:
        next(iter_documents(settings, container, ["a.txt"]))
    assert caught.value.target == "storageInputContainerName"


def test_invalid_container_name_is_invalid_argument(settings: Settings) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_container(settings, "Bad_Name")
    assert caught.value.target == "storageInputContainerName"
    assert "Bad_Name" in caught.value.message
    with pytest.raises(InvalidArgument) as caught:
        check_container(settings, "")
    assert caught.value.target == "storageInputContainerName"


def test_existing_container_passes_check(settings: Settings, input_container: str) -> None:
    check_container(settings, input_container)


def test_oversized_blob_is_refused_by_size(settings: Settings, input_container: str) -> None:
    upload(settings, input_container, "huge.txt", b"a" * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(InvalidArgument) as caught:
        list(iter_documents(settings, input_container, ["huge.txt"]))
    assert caught.value.target == "huge.txt"
    assert "bytes" in caught.value.message


def test_exact_checks_apply_below_the_size_bound(settings: Settings, input_container: str) -> None:
    upload(settings, input_container, "long.txt", b"a" * (MAX_DOCUMENT_CHARS + 1))
    upload(settings, input_container, "max.txt", b"a" * MAX_DOCUMENT_CHARS)
    upload(settings, input_container, "empty.txt", b"")
    upload(settings, input_container, "latin1.txt", "caf\u00e9".encode("latin-1"))
    assert list(iter_documents(settings, input_container, ["max.txt"]))[0][1] == "a" * MAX_DOCUMENT_CHARS
    for name in ["long.txt", "empty.txt", "latin1.txt"]:
        with pytest.raises(InvalidArgument) as caught:
            list(iter_documents(settings, input_container, [name]))
        assert caught.value.target == name
        assert name in caught.value.message


def test_concurrent_reads_keep_the_order_of_the_locations(settings: Settings, input_container: str) -> None:
    names = [f"doc{index:03d}.txt" for index in range(40)]
    for name in names:
        upload(settings, input_container, name, f"text of {name}".encode())
    wanted = list(reversed(names))
    result = list(iter_documents(settings, input_container, wanted, workers=4))
    assert result == [(name, f"text of {name}") for name in wanted]


def test_document_results_carry_each_bad_document_and_go_on(settings: Settings, input_container: str) -> None:
    upload(settings, input_container, "a.txt", b"first")
    upload(settings, input_container, "empty.txt", b"")
    upload(settings, input_container, "c.txt", b"third")
    results = list(
        iter_document_results(settings, input_container, ["a.txt", "missing.txt", "empty.txt", "c.txt"])
    )
    assert [location for location, _ in results] == ["a.txt", "missing.txt", "empty.txt", "c.txt"]
    assert results[0][1] == "first" and results[3][1] == "third"
    for location, error in results[1:3]:
        assert isinstance(error, InvalidArgument)
        assert error.target == location and location in error.message


def test_check_documents_lists_missing_empty_and_oversized_without_reading(
    settings: Settings, input_container: str
) -> None:
    upload(settings, input_container, "docs/ok.txt", b"fine")
    upload(settings, input_container, "docs/empty.txt", b"")
    upload(settings, input_container, "docs/huge.txt", b"a" * (MAX_DOCUMENT_BYTES + 1))
    upload(settings, input_container, "other.txt", b"not asked for")
    problems = check_documents(
        settings, input_container, ["docs/ok.txt", "docs/huge.txt", "docs/gone.txt", "docs/empty.txt"]
    )
    assert [problem.target for problem in problems] == ["docs/huge.txt", "docs/gone.txt", "docs/empty.txt"]
    assert "bytes" in problems[0].message
    assert "not found" in problems[1].message and input_container in problems[1].message
    assert "empty" in problems[2].message
    assert check_documents(settings, input_container, ["docs/ok.txt", "other.txt"]) == []
    with pytest.raises(InvalidArgument) as caught:
        check_documents(settings, f"{input_container}-nothere", ["docs/ok.txt"])
    assert caught.value.target == "storageInputContainerName"
