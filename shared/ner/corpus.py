"""Convert labelled documents into spaCy training data (a serialised ``DocBin``).

One spaCy ``Doc`` is made per region (the region's slice of the text, labels shifted into it), with a
blank pipeline's tokenizer. Labels become token-aligned entity spans through ``Doc.char_span``:

1. strict alignment (the label starts and ends exactly on token boundaries);
2. otherwise ``alignment_mode="contract"`` (the tokens fully inside the label, minus edge whitespace
   tokens): kept when non-empty, with a ``LabelAdjusted`` warning;
3. otherwise the label is dropped with a ``LabelNotAligned`` warning, and its tokens are marked as
   *missing* (unknown) instead of "not an entity", so the model is not taught that the text is no entity.

Leading or trailing whitespace inside a label counts as misalignment and goes through steps 2-3.
Every warning names the document, the category and the label's UTF-16 offset; nothing is dropped
silently. Each ``Doc`` carries ``user_data["location"]`` and ``user_data["region_offset"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from shared.errors import ErrorDetail
from shared.ner.documents import RegionText, region_texts
from shared.ner.languages import normalize_language
from shared.ner.project_file import DocumentAsset

log = logging.getLogger(__name__)

WARNING_LABEL_ADJUSTED = "LabelAdjusted"
WARNING_LABEL_NOT_ALIGNED = "LabelNotAligned"
FALLBACK_LANGUAGE = "xx"

# spaCy languages whose blank tokenizer works with no extra packages (checked against spaCy 3.8; a
# unit test runs spacy.blank on each). Not here: ja (SudachiPy), ko (mecab-ko), th (PyThaiNLP),
# vi (pyvi) and languages spaCy has no module for: they use the multi-language "xx" tokenizer.
# Chinese works: spaCy's default "char" segmenter needs no package.
_BLANK_OK = frozenset(
    "af am ar az bg bn ca cs da de el en es et eu fa fi fr ga gd gu he hi hr hu hy id it kn ky la lt lv mk "
    "ml mr ms nb ne nl pl pt ro ru sa si sk sl sq sr sv ta te tl tr uk ur zh".split()
)


def spacy_language(language: str) -> str:
    """Map an Azure language code to the spaCy language of the blank pipeline used for training.

    ``en-us`` -> ``en``, ``pt-br`` -> ``pt``, ``zh-hans`` -> ``zh``, ``no`` -> ``nb``; languages whose
    spaCy tokenizer needs extra packages (``ko``, ``vi``...) or that spaCy lacks map to ``xx``.
    """
    code = normalize_language(language) or language.strip().lower()
    primary = code.split("-")[0]
    if primary == "no":
        primary = "nb"
    return primary if primary in _BLANK_OK else FALLBACK_LANGUAGE


@lru_cache(maxsize=8)
def _blank(lang: str) -> Language:
    return spacy.blank(lang)


def _trim_space_tokens(span: Span | None) -> Span | None:
    if span is None:
        return None
    start, end = span.start, span.end
    doc = span.doc
    while start < end and doc[start].is_space:
        start += 1
    while end > start and doc[end - 1].is_space:
        end -= 1
    if start == end:
        return None
    return Span(doc, start, end, label=span.label_)


def _describe(region: RegionText, start: int, end: int, category: str) -> str:
    offset, length = region.to_utf16_entity(start, end)
    return (
        f"Document {region.location!r}: label {category!r} at offset {offset} (length {length}, "
        f"text {region.text[start:end]!r})"
    )


def _region_doc(nlp: Language, region: RegionText, warnings: list[ErrorDetail]) -> Doc:
    doc = nlp.make_doc(region.text)
    doc.user_data["location"] = region.location
    doc.user_data["region_offset"] = region.region_offset
    entities: list[Span] = []
    missing_tokens: set[int] = set()
    for start, end, category in region.spans:
        label_text = region.text[start:end]
        strict = None
        if label_text == label_text.strip():
            strict = doc.char_span(start, end, label=category)
        if strict is not None:
            entities.append(strict)
            continue
        contracted = _trim_space_tokens(doc.char_span(start, end, label=category, alignment_mode="contract"))
        if contracted is not None:
            entities.append(contracted)
            new_offset, new_length = region.to_utf16_entity(contracted.start_char, contracted.end_char)
            warnings.append(
                ErrorDetail(
                    WARNING_LABEL_ADJUSTED,
                    f"{_describe(region, start, end, category)} does not line up with token boundaries; "
                    f"it was trained as offset {new_offset}, length {new_length} ({contracted.text!r}).",
                    region.location,
                )
            )
            continue
        expanded = doc.char_span(start, end, alignment_mode="expand")
        if expanded is not None:
            missing_tokens.update(range(expanded.start, expanded.end))
        warnings.append(
            ErrorDetail(
                WARNING_LABEL_NOT_ALIGNED,
                f"{_describe(region, start, end, category)} does not line up with token boundaries and no "
                "whole token lies inside it; it was left out of training.",
                region.location,
            )
        )
    doc.set_ents(entities, missing=_token_runs(doc, missing_tokens), default="outside")
    return doc


def _token_runs(doc: Doc, tokens: set[int]) -> list[Span]:
    runs: list[Span] = []
    for index in sorted(tokens):
        if runs and runs[-1].end == index:
            runs[-1] = Span(doc, runs[-1].start, index + 1)
        else:
            runs.append(Span(doc, index, index + 1))
    return runs


def build_doc_bin(lang: str, items: Iterable[tuple[DocumentAsset, str]]) -> tuple[bytes, list[ErrorDetail]]:
    """Convert documents and their texts into a serialised spaCy ``DocBin`` (one ``Doc`` per region).

    Args:
        lang: spaCy language code (see :func:`spacy_language`).
        items: ``(document, decoded text)`` pairs.

    Returns:
        ``(DocBin bytes, warnings)``; warnings have code ``LabelAdjusted`` or ``LabelNotAligned`` and
        ``target`` = document location.

    Raises:
        InvalidArgument: If a document's labels do not fit its text.
    """
    nlp = _blank(lang)
    doc_bin = DocBin(store_user_data=True)
    warnings: list[ErrorDetail] = []
    for document, text in items:
        for region in region_texts(document, text):
            doc_bin.add(_region_doc(nlp, region, warnings))
    if warnings:
        log.info("corpus conversion produced %d label warning(s)", len(warnings))
    return doc_bin.to_bytes(), warnings
