"""Offsets in TextElements_v8 (grapheme clusters), UnicodeCodePoint and Utf16CodeUnit."""

from __future__ import annotations

import pytest

from shared.extraction.text_elements import (
    DEFAULT_STRING_INDEX_TYPE,
    IndexedText,
    StringIndexType,
    parse_string_index_type,
)

TE = StringIndexType.TEXT_ELEMENTS_V8
CP = StringIndexType.UNICODE_CODE_POINT
U16 = StringIndexType.UTF16_CODE_UNIT

THUMBS_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍 + skin-tone modifier: 2 code points, 4 UTF-16 units
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: 5 code points, 8 UTF-16 units
E_ACUTE = "e\u0301"  # e + combining acute accent: 2 code points, 2 UTF-16 units
FLAG = "\U0001f1eb\U0001f1f7"  # 🇫🇷 regional indicators: 2 code points, 4 UTF-16 units
HINDI = "अनुच्छेद"  # the documentation's example: 5 letters and 3 combining marks


def _span_of(text: str, needle: str, scheme: StringIndexType) -> tuple[int, int]:
    start = text.index(needle)
    return IndexedText(text).span(start, start + len(needle), scheme)


@pytest.mark.parametrize(
    ("prefix", "graphemes", "code_points", "utf16"),
    [
        (THUMBS_MEDIUM + " ", 2, 3, 5),
        (FAMILY + " ", 2, 6, 9),
        (E_ACUTE + " ", 2, 3, 3),
        (FLAG + " ", 2, 3, 5),
        ("\r\n", 1, 2, 2),  # CR LF is one grapheme cluster
        ("plain ", 6, 6, 6),
    ],
)
def test_offset_of_a_word_after_each_kind_of_cluster(
    prefix: str, graphemes: int, code_points: int, utf16: int
) -> None:
    text = prefix + "Contoso Ltd"
    assert _span_of(text, "Contoso", TE) == (graphemes, 7)
    assert _span_of(text, "Contoso", CP) == (code_points, 7)
    assert _span_of(text, "Contoso", U16) == (utf16, 7)


def test_lengths_of_entities_made_of_clusters() -> None:
    text = f"Ask {E_ACUTE}milie {THUMBS_MEDIUM} at {FAMILY} café"
    entity = f"{E_ACUTE}milie {THUMBS_MEDIUM}"
    assert _span_of(text, entity, TE) == (4, 8)  # é m i l i e ␠ 👍🏽
    assert _span_of(text, entity, CP) == (4, 10)
    assert _span_of(text, entity, U16) == (4, 12)
    assert _span_of(text, "café", TE) == (len("Ask ") + 8 + len(" at ") + 1 + 1, 4)
    indexed = IndexedText(text)
    assert indexed.length(TE) == indexed.grapheme_count == len("Ask ") + 8 + len(" at ") + 1 + len(" café")
    assert indexed.length(U16) == len(text.encode("utf-16-le")) // 2


def test_hindi_word_is_five_text_elements_as_azure_documents_it() -> None:
    # Azure's documentation: five letters and three combining marks. Current Unicode (GB9c) would make
    # the conjunct "च्छे" one cluster (4 in all); Unicode 8, which TextElements_v8 names, gives 5.
    text = IndexedText(HINDI + " Delhi")
    assert len(HINDI) == 8
    assert text.length(CP) == 8 + 6
    assert text.length(TE) == 5 + 6
    assert _span_of(HINDI + " Delhi", "Delhi", TE) == (6, 5)
    # clusters: अ | नु | च् | छे | द  (the conjunct च्छे splits before छ)
    assert [text.snap(i, i + 1) for i in range(8)] == [
        (0, 1),
        (1, 3),
        (1, 3),
        (3, 5),
        (3, 5),
        (5, 7),
        (5, 7),
        (7, 8),
    ]
    assert [text.to_offset(i, TE) for i in (0, 1, 3, 5, 7, 8)] == [0, 1, 2, 3, 4, 5]


def test_span_inside_a_cluster_is_widened_to_the_whole_cluster() -> None:
    text = IndexedText(f"go {THUMBS_MEDIUM} now")
    # spaCy may cut the skin-tone modifier off the emoji; the reported entity never splits it
    assert text.snap(3, 4) == (3, 5)
    assert text.span(3, 4, TE) == (3, 1)
    assert text.span(3, 4, CP) == (3, 2)
    assert text.span(3, 4, U16) == (3, 4)
    assert text.snap(4, 5) == (3, 5)
    with pytest.raises(ValueError, match="inside a grapheme"):
        text.to_offset(4, TE)


def test_ascii_text_maps_identically() -> None:
    text = IndexedText("Alice Smith lives in Paris.")
    for index in range(len(text.text) + 1):
        assert {text.to_offset(index, scheme) for scheme in StringIndexType} == {index}


def test_string_index_type_names() -> None:
    assert parse_string_index_type(None) is DEFAULT_STRING_INDEX_TYPE is TE
    assert parse_string_index_type("UnicodeCodePoint") is CP
    assert parse_string_index_type("utf16codeunit") is U16
    assert parse_string_index_type("Bytes") is None
