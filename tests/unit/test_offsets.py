"""UTF-16 code-unit offsets <-> Python indices."""

from __future__ import annotations

import pytest

from shared.ner.offsets import Utf16Text


def test_bmp_text_indices_are_identical() -> None:
    text = Utf16Text("Zürich, São Paulo\r\nKraków")
    assert text.utf16_length == len(text.text)
    for index in range(len(text.text) + 1):
        assert text.to_index(index) == index
        assert text.to_utf16(index) == index


def test_emoji_outside_bmp_counts_two_code_units() -> None:
    text = Utf16Text("😀 Contoso")
    assert len(text.text) == 9
    assert text.utf16_length == 10
    # "Contoso" starts at Python index 2 but UTF-16 offset 3.
    assert text.to_index(3) == 2
    assert text.to_utf16(2) == 3
    assert text.span_to_index(3, 7) == (2, 9)
    assert text.slice_utf16(3, 7) == "Contoso"
    assert text.index_to_span(2, 9) == (3, 7)


def test_offset_inside_surrogate_pair_is_rejected() -> None:
    text = Utf16Text("a😀b")
    with pytest.raises(ValueError, match="surrogate pair"):
        text.to_index(2)
    assert text.to_index(1) == 1
    assert text.to_index(3) == 2


@pytest.mark.parametrize("offset", [-1, 5])
def test_offset_out_of_range_is_rejected(offset: int) -> None:
    text = Utf16Text("a😀b")  # 4 code units
    with pytest.raises(ValueError, match="outside the text"):
        text.to_index(offset)


def test_index_out_of_range_and_negative_length_are_rejected() -> None:
    text = Utf16Text("abc")
    with pytest.raises(ValueError):
        text.to_utf16(4)
    with pytest.raises(ValueError):
        text.to_utf16(-1)
    with pytest.raises(ValueError, match="negative"):
        text.span_to_index(0, -1)
    with pytest.raises(ValueError):
        text.index_to_span(2, 1)


def test_round_trip_every_boundary_with_mixed_text() -> None:
    raw = "Line 1 😀\r\nOrder 🚚📦 from Zürich ✈️ done\r\n👍🏽 end"
    text = Utf16Text(raw)
    assert text.utf16_length == len(raw.encode("utf-16-le")) // 2
    for index in range(len(raw) + 1):
        offset = text.to_utf16(index)
        assert offset == len(raw[:index].encode("utf-16-le")) // 2
        assert text.to_index(offset) == index


def test_crlf_counts_both_characters() -> None:
    raw = "Header\r\n😀 Vendor: Contoso\r\n"
    text = Utf16Text(raw)
    offset = len(raw[: raw.index("Contoso")].encode("utf-16-le")) // 2
    assert offset == raw.index("Contoso") + 1  # one extra unit for the emoji, CR and LF both count
    assert text.slice_utf16(offset, 7) == "Contoso"


def test_empty_text() -> None:
    text = Utf16Text("")
    assert text.utf16_length == 0
    assert text.to_index(0) == 0
    assert text.span_to_index(0, 0) == (0, 0)
