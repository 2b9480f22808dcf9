"""Document texts: byte-exact decoding, label-vs-text checks and region slicing.

Decoding rules (offsets depend on them, so they are fixed here and nowhere else):

* Documents are UTF-8. The bytes are decoded exactly: line ends are **never** normalised, so a CRLF
  counts as two code units, as it does for Azure (Microsoft's loan-agreement sample uses CRLF and its
  offsets count the ``\\r``).
* A leading UTF-8 byte-order mark (``EF BB BF``) is removed before offsets are counted. Azure reads
  blobs as text with .NET, whose readers drop a leading BOM, and Language Studio shows (and labels) the
  text without it, so its offsets do not count the BOM. Only a BOM at the very start is removed; a
  U+FEFF anywhere else is ordinary text.
* "Characters" for the 128,000-character limit are UTF-16 code units, the unit all offsets use (.NET's
  ``string.Length``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.errors import ErrorDetail, InvalidArgument
from shared.ner.offsets import Utf16Text
from shared.ner.project_file import DocumentAsset, describe_label

MAX_DOCUMENT_CHARS = 128_000
UTF8_BOM = b"\xef\xbb\xbf"


def decode_document(location: str, data: bytes) -> str:
    """Decode a document's bytes exactly as offsets count them.

    Args:
        location: The document's location (blob name), used in error messages.
        data: The raw bytes.

    Returns:
        The text (leading UTF-8 BOM removed, line ends untouched).

    Raises:
        InvalidArgument: (target = location) if the document is empty, is not valid UTF-8, or is longer
            than :data:`MAX_DOCUMENT_CHARS` UTF-16 code units.
    """
    body = data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
    if not body:
        raise _document_error(location, f"Document {location!r} is empty; every document must contain text.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        position = error.start + (len(data) - len(body))
        raise _document_error(
            location,
            f"Document {location!r} is not valid UTF-8 (invalid byte 0x{data[position]:02x} at byte offset "
            f"{position}); save it as UTF-8 text.",
        ) from None
    length = Utf16Text(text).utf16_length
    if length > MAX_DOCUMENT_CHARS:
        raise _document_error(
            location,
            f"Document {location!r} has {length:,} characters (UTF-16 code units); the limit is "
            f"{MAX_DOCUMENT_CHARS:,}.",
        )
    return text


def _document_error(location: str, message: str) -> InvalidArgument:
    return InvalidArgument(
        message, target=location, details=[ErrorDetail("InvalidDocument", message, location)]
    )


def _label_problems(document: DocumentAsset, utf16: Utf16Text) -> list[ErrorDetail]:
    problems: list[ErrorDetail] = []
    location = document.location
    size = utf16.utf16_length

    def add(path: str, message: str) -> None:
        problems.append(ErrorDetail("InvalidDocument", message, f"{location}: {path}"))

    for region_index, region in enumerate(document.regions):
        region_path = f"entities[{region_index}]"
        if region.end > size:
            add(
                region_path,
                f"Region {region_path} (regionOffset {region.offset}, regionLength {region.length}) of document "
                f"{location!r} ends at {region.end}, past the end of the text ({size} UTF-16 code units).",
            )
        else:
            for edge in (region.offset, region.end):
                if not _is_boundary(utf16, edge):
                    add(
                        region_path,
                        f"Region {region_path} of document {location!r} has an edge at UTF-16 offset {edge}, "
                        "which splits a character outside the BMP (an emoji) in half.",
                    )
        for label_index, label in enumerate(region.labels):
            label_path = f"{region_path}.labels[{label_index}]"
            if label.end > size:
                add(
                    label_path,
                    f"Label {label_path} ({describe_label(label)}) of document {location!r} ends at {label.end}, "
                    f"past the end of the text ({size} UTF-16 code units).",
                )
                continue
            for edge in (label.offset, label.end):
                if not _is_boundary(utf16, edge):
                    add(
                        label_path,
                        f"Label {label_path} ({describe_label(label)}) of document {location!r} has an edge at "
                        f"UTF-16 offset {edge}, which splits a character outside the BMP (an emoji) in half.",
                    )
                    break
    return problems


def _is_boundary(utf16: Utf16Text, offset: int) -> bool:
    try:
        utf16.to_index(offset)
    except ValueError:
        return False
    return True


def check_labels_fit(document: DocumentAsset, text: str) -> None:
    """Check that every region and label of ``document`` lies inside ``text`` on character boundaries.

    Args:
        document: The document's labels (from the project file).
        text: The decoded text (:func:`decode_document`).

    Raises:
        InvalidArgument: (target = document location) listing every region or label that ends past the
            text or cuts a surrogate pair in half, each named by path, category and UTF-16 offset.
    """
    problems = _label_problems(document, Utf16Text(text))
    if problems:
        count = len(problems)
        raise InvalidArgument(
            f"The labels of document {document.location!r} do not fit its text: {count} problem"
            f"{'s' if count != 1 else ''}. First: {problems[0].message}",
            target=document.location,
            details=problems[:50],
        )


@dataclass
class RegionText:
    """The text of one region plus its labels, in Python indices relative to the region.

    Attributes:
        location: The document's location.
        region_offset: UTF-16 offset of the region in the document.
        region_length: UTF-16 length of the region.
        text: The region's slice of the document text.
        spans: ``(start, end, category)`` per label, Python indices into ``text``, sorted by start.
    """

    location: str
    region_offset: int
    region_length: int
    text: str
    spans: list[tuple[int, int, str]]
    _utf16: Utf16Text | None = field(default=None, init=False, repr=False, compare=False)

    def to_utf16_entity(self, start: int, end: int) -> tuple[int, int]:
        """Convert a region-relative Python span to an absolute UTF-16 ``(offset, length)``."""
        if self._utf16 is None:
            self._utf16 = Utf16Text(self.text)
        offset, length = self._utf16.index_to_span(start, end)
        return self.region_offset + offset, length


def region_texts(document: DocumentAsset, text: str) -> list[RegionText]:
    """Slice a document into its regions, converting labels to region-relative Python spans.

    A document without regions yields one region spanning the whole text (with no labels).

    Raises:
        InvalidArgument: If a region or label does not fit the text (see :func:`check_labels_fit`).
    """
    utf16 = Utf16Text(text)
    if not document.regions:
        return [RegionText(document.location, 0, utf16.utf16_length, text, [])]
    check_labels_fit(document, text)
    result: list[RegionText] = []
    for region in document.regions:
        start, end = utf16.span_to_index(region.offset, region.length)
        spans = []
        for label in region.labels:
            label_start, label_end = utf16.span_to_index(label.offset, label.length)
            spans.append((label_start - start, label_end - start, label.category))
        spans.sort()
        result.append(RegionText(document.location, region.offset, region.length, text[start:end], spans))
    return result
