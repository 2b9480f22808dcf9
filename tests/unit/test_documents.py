"""Decoding documents byte-exact, checking labels against the text, slicing regions."""

from __future__ import annotations

import pytest

from shared.errors import InvalidArgument
from shared.ner.documents import (
    MAX_DOCUMENT_CHARS,
    RegionText,
    check_labels_fit,
    decode_document,
    region_texts,
)
from shared.ner.offsets import Utf16Text
from shared.ner.project_file import DocumentAsset, Label, Region


def utf16_offset(text: str, needle: str) -> int:
    return len(text[: text.index(needle)].encode("utf-16-le")) // 2


def test_crlf_is_kept_byte_exact() -> None:
    data = b"Line one\r\nLine two\r\n"
    text = decode_document("a.txt", data)
    assert text == "Line one\r\nLine two\r\n"
    assert text.index("two") == 15


def test_leading_bom_is_stripped_and_only_there() -> None:
    # Choice pinned here: a leading UTF-8 BOM is not part of the text, so offsets do not count it.
    text = decode_document("bom.txt", b"\xef\xbb\xbfContoso\xef\xbb\xbfX")
    assert text == "Contoso\ufeffX"
    assert Utf16Text(text).slice_utf16(0, 7) == "Contoso"


def test_empty_document_is_rejected() -> None:
    for data in (b"", b"\xef\xbb\xbf"):
        with pytest.raises(InvalidArgument) as info:
            decode_document("empty.txt", data)
        assert info.value.target == "empty.txt"
        assert "'empty.txt' is empty" in info.value.message


def test_invalid_utf8_names_document_and_byte_offset() -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_document("latin1.txt", "Zürich".encode("latin-1"))
    assert info.value.target == "latin1.txt"
    assert "'latin1.txt' is not valid UTF-8" in info.value.message
    assert "byte offset 1" in info.value.message and "0xfc" in info.value.message


def test_invalid_utf8_offset_counts_the_bom() -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_document("x.txt", b"\xef\xbb\xbfab\xff")
    assert "byte offset 5" in info.value.message


def test_document_length_limit_counts_utf16_units() -> None:
    assert len(decode_document("max.txt", b"a" * MAX_DOCUMENT_CHARS)) == MAX_DOCUMENT_CHARS
    with pytest.raises(InvalidArgument) as info:
        decode_document("long.txt", b"a" * (MAX_DOCUMENT_CHARS + 1))
    assert "'long.txt'" in info.value.message and "128,000" in info.value.message
    # 64,000 emoji are 64,000 Python characters but 128,000 UTF-16 code units: allowed; one more is not.
    decode_document("emoji.txt", "😀".encode() * 64_000)
    with pytest.raises(InvalidArgument):
        decode_document("emoji.txt", "😀".encode() * 64_000 + b"a")


TEXT = "Header\r\n😀 Order from Contoso for Seattle.\r\n"


def sample_document() -> DocumentAsset:
    return DocumentAsset(
        location="order.txt",
        language="en-us",
        dataset=None,
        regions=[
            Region(
                offset=8,
                length=Utf16Text(TEXT).utf16_length - 8,
                labels=[
                    Label("Vendor", utf16_offset(TEXT, "Contoso"), 7),
                    Label("City", utf16_offset(TEXT, "Seattle"), 7),
                ],
            )
        ],
    )


def test_labels_that_fit_pass() -> None:
    check_labels_fit(sample_document(), TEXT)


def test_label_past_end_of_text_names_document_label_and_offset() -> None:
    document = sample_document()
    document.regions[0].labels.append(Label("City", 60, 5))
    document.regions[0].length = 70
    with pytest.raises(InvalidArgument) as info:
        check_labels_fit(document, TEXT)
    error = info.value
    assert error.target == "order.txt"
    targets = [detail.target for detail in error.details]
    assert targets == ["order.txt: entities[0]", "order.txt: entities[0].labels[2]"]
    assert "'order.txt'" in error.details[1].message and "'City' at offset 60" in error.details[1].message
    assert "past the end of the text (44 UTF-16 code units)" in error.details[1].message


def test_label_splitting_an_emoji_is_rejected() -> None:
    document = DocumentAsset("e.txt", "en", None, [Region(0, 6, [Label("Vendor", 1, 3)])])
    with pytest.raises(InvalidArgument) as info:
        check_labels_fit(document, "😀 abc")  # offset 1 is the low surrogate of the emoji
    assert "UTF-16 offset 1" in info.value.details[0].message
    assert "emoji" in info.value.details[0].message


def test_region_texts_slice_and_shift_labels() -> None:
    regions = region_texts(sample_document(), TEXT)
    assert len(regions) == 1
    region = regions[0]
    assert region.text == "😀 Order from Contoso for Seattle.\r\n"
    assert [(region.text[start:end], category) for start, end, category in region.spans] == [
        ("Contoso", "Vendor"),
        ("Seattle", "City"),
    ]
    start, end, _ = region.spans[0]
    assert region.to_utf16_entity(start, end) == (utf16_offset(TEXT, "Contoso"), 7)


def test_document_without_regions_is_one_region_over_the_whole_text() -> None:
    document = DocumentAsset("plain.txt", "en", "Train", [])
    regions = region_texts(document, TEXT)
    assert regions == [RegionText("plain.txt", 0, Utf16Text(TEXT).utf16_length, TEXT, [])]


def test_multiple_regions_keep_their_own_labels() -> None:
    text = "AAA Contoso BBB\nCCC 😀 Seattle DDD"
    offset = utf16_offset(text, "Seattle")
    document = DocumentAsset(
        "two.txt",
        "en",
        None,
        [
            Region(0, 16, [Label("Vendor", 4, 7)]),
            Region(16, Utf16Text(text).utf16_length - 16, [Label("City", offset, 7)]),
        ],
    )
    first, second = region_texts(document, text)
    assert first.text == "AAA Contoso BBB\n" and first.spans == [(4, 11, "Vendor")]
    assert second.text == "CCC 😀 Seattle DDD"
    start, end, category = second.spans[0]
    assert second.text[start:end] == "Seattle" and category == "City"
    assert second.to_utf16_entity(start, end) == (offset, 7)


def test_region_texts_rejects_labels_outside_the_text() -> None:
    document = DocumentAsset("short.txt", "en", None, [Region(0, 50, [Label("Vendor", 0, 3)])])
    with pytest.raises(InvalidArgument) as info:
        region_texts(document, "abc")
    assert info.value.target == "short.txt"
