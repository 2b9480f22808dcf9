"""UTF-16 code-unit offsets <-> Python string indices.

Azure's authoring API counts every ``offset``, ``length``, ``regionOffset`` and ``regionLength`` in
UTF-16 code units (``stringIndexType: Utf16CodeUnit``). Python ``str`` indexes by code point, so a
character outside the Basic Multilingual Plane (an emoji such as "😀") is one Python index but two
UTF-16 units. Every conversion between the two goes through :class:`Utf16Text`.
"""

from __future__ import annotations

from bisect import bisect_left


class Utf16Text:
    """A text plus exact conversions between UTF-16 offsets and Python indices.

    For pure-BMP text (the common case) both index spaces are identical and no tables are built.
    Otherwise ``_utf16_at[i]`` is the UTF-16 offset of Python index ``i`` (for ``0 <= i <= len(text)``),
    a strictly increasing list that :meth:`to_index` searches with bisect.
    """

    __slots__ = ("text", "utf16_length", "_utf16_at")

    def __init__(self, text: str) -> None:
        self.text = text
        self._utf16_at: list[int] | None = None
        astral = sum(1 for char in text if ord(char) > 0xFFFF)
        self.utf16_length = len(text) + astral
        if astral:
            table = [0] * (len(text) + 1)
            position = 0
            for index, char in enumerate(text):
                table[index] = position
                position += 2 if ord(char) > 0xFFFF else 1
            table[len(text)] = position
            self._utf16_at = table

    def __repr__(self) -> str:
        return f"Utf16Text(len={len(self.text)}, utf16_length={self.utf16_length})"

    def to_index(self, utf16_offset: int) -> int:
        """Convert a UTF-16 offset (``0..utf16_length``) to a Python string index.

        Args:
            utf16_offset: Offset in UTF-16 code units; the end of the text is allowed.

        Returns:
            The Python index of the character that starts at that offset.

        Raises:
            ValueError: If the offset is negative, past the end, or points between the two halves of a
                surrogate pair (inside a character outside the BMP).
        """
        if utf16_offset < 0 or utf16_offset > self.utf16_length:
            raise ValueError(f"UTF-16 offset {utf16_offset} is outside the text (0..{self.utf16_length})")
        if self._utf16_at is None:
            return utf16_offset
        index = bisect_left(self._utf16_at, utf16_offset)
        if self._utf16_at[index] != utf16_offset:
            raise ValueError(
                f"UTF-16 offset {utf16_offset} points inside a surrogate pair (the character "
                f"{self.text[index - 1]!r} at UTF-16 offset {self._utf16_at[index - 1]} takes two code units)"
            )
        return index

    def to_utf16(self, index: int) -> int:
        """Convert a Python string index (``0..len(text)``) to a UTF-16 offset.

        Raises:
            ValueError: If the index is negative or past the end of the text.
        """
        if index < 0 or index > len(self.text):
            raise ValueError(f"string index {index} is outside the text (0..{len(self.text)})")
        if self._utf16_at is None:
            return index
        return self._utf16_at[index]

    def span_to_index(self, offset: int, length: int) -> tuple[int, int]:
        """Convert a UTF-16 ``(offset, length)`` span to Python ``(start, end)`` indices.

        Raises:
            ValueError: If the length is negative or either end is not a valid offset (see :meth:`to_index`).
        """
        if length < 0:
            raise ValueError(f"length {length} is negative")
        return self.to_index(offset), self.to_index(offset + length)

    def index_to_span(self, start: int, end: int) -> tuple[int, int]:
        """Convert Python ``(start, end)`` indices to a UTF-16 ``(offset, length)`` span."""
        if end < start:
            raise ValueError(f"span end {end} is before its start {start}")
        offset = self.to_utf16(start)
        return offset, self.to_utf16(end) - offset

    def slice_utf16(self, offset: int, length: int) -> str:
        """The text of a UTF-16 span (what a label points at)."""
        start, end = self.span_to_index(offset, length)
        return self.text[start:end]
