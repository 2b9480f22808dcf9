"""Offsets and lengths in the three ``stringIndexType`` schemes of Azure's runtime API.

Python indexes a ``str`` by code point. Azure reports entity offsets in one of:

- ``TextElements_v8`` (the runtime default): user-perceived characters (grapheme clusters). "👍🏽"
  (thumbs up + skin-tone modifier), "👨‍👩‍👧" (a ZWJ sequence) and "é" written as "e" + U+0301 each
  count as one.
- ``UnicodeCodePoint`` (what Microsoft's Python client sends): Python's own indices.
- ``Utf16CodeUnit`` (.NET/Java/JavaScript strings): code points outside the BMP count twice.

Grapheme clusters come from the maintained ``regex`` package (``\\X``, Unicode's extended grapheme
clusters, UAX #29) rather than a table of our own. Azure names Unicode 8.0 for ``TextElements_v8``, and
the current rules differ from Unicode 8's in two places:

- Emoji: Unicode 8 had no emoji modifier or ZWJ rules (added in Unicode 9), so "👍🏽" and "👨‍👩‍👧" would be
  2 and 3 elements. We keep the current rules, which is what Azure's documentation describes (a
  skin-toned emoji is one "displayed character").
- Indic conjuncts: since Unicode 15.1 (rule GB9c) a consonant + virama + consonant is one cluster.
  Under Unicode 8 it is two, and Azure's documentation counts the Hindi word "अनुच्छेद" as five letters
  with three combining marks, i.e. five text elements. We follow Unicode 8 there: clusters are split
  again before a consonant that follows a linker (the ``InCB`` properties, also from ``regex``).

Entity spans are first snapped outwards to grapheme boundaries (:meth:`IndexedText.snap`), so an entity
never splits a user-perceived character and is the same entity in every scheme.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from enum import StrEnum

import regex

from shared.ner.offsets import Utf16Text

_GRAPHEME = regex.compile(r"\X")
# A consonant joined to the previous one by a virama (GB9c): a text element of its own under Unicode 8.
_CONJUNCT_CONSONANT = regex.compile(
    r"(?<=\p{InCB=Linker}[\p{InCB=Extend}\p{InCB=Linker}]*)\p{InCB=Consonant}"
)


class StringIndexType(StrEnum):
    TEXT_ELEMENTS_V8 = "TextElements_v8"
    UNICODE_CODE_POINT = "UnicodeCodePoint"
    UTF16_CODE_UNIT = "Utf16CodeUnit"


DEFAULT_STRING_INDEX_TYPE = StringIndexType.TEXT_ELEMENTS_V8


def parse_string_index_type(value: str | None) -> StringIndexType | None:
    """The scheme named by ``value`` (case-insensitive, as Azure accepts it), default when absent.

    Returns None when ``value`` names no scheme.
    """
    if value is None or value == "":
        return DEFAULT_STRING_INDEX_TYPE
    for member in StringIndexType:
        if member.value.lower() == str(value).lower():
            return member
    return None


class IndexedText:
    """A document's text plus exact conversions from Python indices to each scheme.

    Grapheme boundaries are computed once per text (the starts of every cluster and the end of the
    text); for ASCII text every code point is its own cluster and no table is built.
    """

    __slots__ = ("text", "_boundaries", "_utf16")

    def __init__(self, text: str) -> None:
        self.text = text
        self._utf16 = Utf16Text(text)
        if text.isascii() and "\r\n" not in text:
            self._boundaries: list[int] | None = None  # every index is a boundary
        else:
            starts = {match.start() for match in _GRAPHEME.finditer(text)}
            starts.update(match.start() for match in _CONJUNCT_CONSONANT.finditer(text))
            starts.add(len(text))
            self._boundaries = sorted(starts)

    @property
    def grapheme_count(self) -> int:
        return len(self.text) if self._boundaries is None else len(self._boundaries) - 1

    def snap(self, start: int, end: int) -> tuple[int, int]:
        """Widen Python ``[start, end)`` to whole grapheme clusters (unchanged if already aligned)."""
        if self._boundaries is None:
            return start, end
        bounds = self._boundaries
        snapped_start = bounds[bisect_right(bounds, start) - 1]
        snapped_end = bounds[bisect_left(bounds, end)]
        return snapped_start, snapped_end

    def to_offset(self, index: int, scheme: StringIndexType) -> int:
        """The offset of Python index ``index`` (a grapheme boundary for TextElements_v8) in ``scheme``."""
        if index < 0 or index > len(self.text):
            raise ValueError(f"string index {index} is outside the text (0..{len(self.text)})")
        if scheme is StringIndexType.UNICODE_CODE_POINT:
            return index
        if scheme is StringIndexType.UTF16_CODE_UNIT:
            return self._utf16.to_utf16(index)
        if self._boundaries is None:
            return index
        position = bisect_left(self._boundaries, index)
        if self._boundaries[position] != index:
            raise ValueError(f"string index {index} is inside a grapheme cluster")
        return position

    def span(self, start: int, end: int, scheme: StringIndexType) -> tuple[int, int]:
        """``(offset, length)`` in ``scheme`` of the Python span ``[start, end)`` snapped to graphemes."""
        start, end = self.snap(start, end)
        offset = self.to_offset(start, scheme)
        return offset, self.to_offset(end, scheme) - offset

    def length(self, scheme: StringIndexType) -> int:
        """The text's length in ``scheme``."""
        return self.to_offset(len(self.text), scheme)
