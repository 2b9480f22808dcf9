"""Conversion of labelled documents into spaCy DocBins, with alignment warnings."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from shared.errors import InvalidArgument
from shared.ner.corpus import build_doc_bin, spacy_language
from shared.ner.languages import SUPPORTED_LANGUAGES
from shared.ner.project_file import DocumentAsset, Label, Region


def utf16_offset(text: str, needle: str) -> int:
    return len(text[: text.index(needle)].encode("utf-16-le")) // 2


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def one_region(location: str, text: str, labels: list[Label]) -> DocumentAsset:
    return DocumentAsset(location, "en-us", None, [Region(0, utf16_len(text), labels)])


def read_docs(data: bytes, lang: str = "en") -> list[Doc]:
    return list(DocBin().from_bytes(data).get_docs(spacy.blank(lang).vocab))


@pytest.mark.parametrize(
    ("azure", "expected"),
    [
        ("en-us", "en"),
        ("EN-US", "en"),
        ("en", "en"),
        ("de", "de"),
        ("pt-br", "pt"),
        ("pt-PT", "pt"),
        ("zh-Hans", "zh"),
        ("nb", "nb"),
        ("no", "nb"),
        ("ko", "xx"),
        ("vi", "xx"),
        ("sw", "xx"),
        ("ja", "xx"),
        ("tlh", "xx"),
    ],
)
def test_spacy_language_mapping(azure: str, expected: str) -> None:
    assert spacy_language(azure) == expected


def test_every_supported_language_has_a_working_blank_pipeline() -> None:
    codes = sorted({spacy_language(code) for code, _ in SUPPORTED_LANGUAGES})
    assert "en" in codes and "xx" in codes
    for code in codes:
        nlp = spacy.blank(code)  # must not need any download or extra package
        assert len(nlp.make_doc("Order 12 from Contoso.")) >= 3


def test_aligned_labels_become_entities_with_utf16_offsets_converted() -> None:
    text = "😀 Order from Contoso Limited\r\nDeliver to Seattle on 12 May 2025.\r\n"
    document = one_region(
        "po.txt",
        text,
        [
            Label("Vendor", utf16_offset(text, "Contoso"), utf16_len("Contoso Limited")),
            Label("City", utf16_offset(text, "Seattle"), 7),
            Label("Date", utf16_offset(text, "12 May"), utf16_len("12 May 2025")),
        ],
    )
    data, warnings = build_doc_bin("en", [(document, text)])
    assert warnings == []
    (doc,) = read_docs(data)
    assert doc.text == text
    assert [(ent.text, ent.label_) for ent in doc.ents] == [
        ("Contoso Limited", "Vendor"),
        ("Seattle", "City"),
        ("12 May 2025", "Date"),
    ]
    assert doc.user_data["location"] == "po.txt" and doc.user_data["region_offset"] == 0
    # Tokens outside labels are explicitly "not an entity", not missing.
    assert doc[1].ent_iob_ == "O"


def test_partial_token_label_is_contracted_with_a_warning() -> None:
    text = "😀 Order from Contoso Limited today"
    offset = utf16_offset(text, "ontoso Limited")
    document = one_region("adj.txt", text, [Label("Vendor", offset, utf16_len("ontoso Limited"))])
    data, warnings = build_doc_bin("en", [(document, text)])
    (doc,) = read_docs(data)
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("Limited", "Vendor")]
    (warning,) = warnings
    assert warning.code == "LabelAdjusted" and warning.target == "adj.txt"
    assert "'adj.txt'" in warning.message and "'Vendor'" in warning.message
    assert f"offset {offset}" in warning.message and offset == 15  # UTF-16: the emoji counts twice
    assert f"offset {utf16_offset(text, 'Limited')}, length 7" in warning.message


def test_label_with_edge_whitespace_is_trimmed_with_a_warning() -> None:
    text = "Order from Contoso today"
    offset = utf16_offset(text, " Contoso ")
    document = one_region("ws.txt", text, [Label("Vendor", offset, len(" Contoso "))])
    data, warnings = build_doc_bin("en", [(document, text)])
    (doc,) = read_docs(data)
    assert [ent.text for ent in doc.ents] == ["Contoso"]
    assert [warning.code for warning in warnings] == ["LabelAdjusted"]
    assert f"offset {offset + 1}, length 7" in warnings[0].message


def test_label_inside_one_token_is_dropped_with_a_warning_and_marked_missing() -> None:
    text = "Order from Contoso today"
    offset = utf16_offset(text, "onto")
    document = one_region("drop.txt", text, [Label("Vendor", offset, 4)])
    data, warnings = build_doc_bin("en", [(document, text)])
    (doc,) = read_docs(data)
    assert list(doc.ents) == []
    (warning,) = warnings
    assert warning.code == "LabelNotAligned" and warning.target == "drop.txt"
    assert (
        "'drop.txt'" in warning.message
        and "'Vendor'" in warning.message
        and f"offset {offset}" in warning.message
    )
    contoso = next(token for token in doc if token.text == "Contoso")
    assert contoso.ent_iob_ == ""  # missing: the model is not told "Contoso" is no entity
    assert doc[0].ent_iob_ == "O"


def test_two_labels_inside_one_token_are_both_reported() -> None:
    text = "Item ABCD shipped"
    document = one_region("two.txt", text, [Label("A", 5, 2), Label("B", 7, 2)])
    _, warnings = build_doc_bin("en", [(document, text)])
    assert [(warning.code, "'A'" in warning.message or "'B'" in warning.message) for warning in warnings] == [
        ("LabelNotAligned", True),
        ("LabelNotAligned", True),
    ]


def test_one_doc_per_region_with_labels_shifted() -> None:
    text = "Header line\nVendor: Contoso\nIgnored middle\nCity: 😀 Seattle\n"
    first_start = utf16_offset(text, "Vendor:")
    second_start = utf16_offset(text, "City:")
    document = DocumentAsset(
        "regions.txt",
        "en-us",
        "Train",
        [
            Region(
                first_start,
                utf16_len("Vendor: Contoso\n"),
                [Label("Vendor", utf16_offset(text, "Contoso"), 7)],
            ),
            Region(
                second_start,
                utf16_len(text) - second_start,
                [Label("City", utf16_offset(text, "Seattle"), 7)],
            ),
        ],
    )
    plain = DocumentAsset("plain.txt", "en-us", None, [])
    data, warnings = build_doc_bin("en", [(document, text), (plain, "No labels here.")])
    assert warnings == []
    docs = read_docs(data)
    assert [doc.text for doc in docs] == ["Vendor: Contoso\n", "City: 😀 Seattle\n", "No labels here."]
    assert [[(ent.text, ent.label_) for ent in doc.ents] for doc in docs] == [
        [("Contoso", "Vendor")],
        [("Seattle", "City")],
        [],
    ]
    assert docs[1].user_data["region_offset"] == second_start


def test_labels_outside_the_text_raise() -> None:
    document = one_region("bad.txt", "x" * 40, [Label("Vendor", 35, 10)])
    with pytest.raises(InvalidArgument) as info:
        build_doc_bin("en", [(document, "short text")])
    assert info.value.target == "bad.txt"


def test_fallback_language_xx_converts() -> None:
    text = "주문 Contoso 서울"
    document = one_region("ko.txt", text, [Label("Vendor", 3, 7), Label("City", 11, 2)])
    data, warnings = build_doc_bin(spacy_language("ko"), [(document, text)])
    assert warnings == []
    (doc,) = read_docs(data, "xx")
    assert [(ent.text, ent.label_) for ent in doc.ents] == [("Contoso", "Vendor"), ("서울", "City")]
