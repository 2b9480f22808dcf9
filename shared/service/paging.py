"""Azure-style paging: ``top``, ``skip`` and ``maxpagesize`` in, ``{"value", "nextLink"}`` out.

``top`` bounds the total number of items over all pages, ``skip`` skips items from the start and
``maxpagesize`` bounds one page. ``nextLink`` is the request URL with ``skip`` advanced (and ``top``
reduced by what was already returned); Microsoft's client follows it as an absolute URL and replaces
only its ``api-version``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.errors import ErrorDetail, invalid_with_details

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PAGING_PARAMS = ("top", "skip", "maxpagesize")


@dataclass(frozen=True)
class PageRequest:
    """The paging parameters of one request."""

    top: int | None = None
    skip: int = 0
    maxpagesize: int | None = None

    @property
    def page_size(self) -> int:
        """Items on this page at most: ``maxpagesize`` (default 50, capped at 1000) bounded by ``top``."""
        size = min(self.maxpagesize or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        return size if self.top is None else min(size, self.top)

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> PageRequest:
        """Parse ``top``, ``skip`` and ``maxpagesize`` from query parameters.

        Raises:
            InvalidArgument: naming each parameter that is not a whole number in range.
        """
        details: list[ErrorDetail] = []
        values: dict[str, int | None] = {}
        for name, minimum in (("top", 0), ("skip", 0), ("maxpagesize", 1)):
            raw = params.get(name)
            if raw is None or raw == "":
                values[name] = None
                continue
            try:
                value = int(raw)
            except ValueError:
                details.append(ErrorDetail("InvalidParameterValue", f"'{name}' must be an integer, got '{raw}'.", name))
                continue
            if value < minimum:
                details.append(
                    ErrorDetail("InvalidParameterValue", f"'{name}' must be at least {minimum}, got {value}.", name)
                )
                continue
            values[name] = value
        if details:
            raise invalid_with_details("Invalid paging parameters: " + " ".join(d.message for d in details), details)
        return cls(top=values["top"], skip=values["skip"] or 0, maxpagesize=values["maxpagesize"])


def paginate(items: Sequence[T], page: PageRequest) -> tuple[list[T], PageRequest | None]:
    """Cut one page out of ``items``.

    Returns:
        The page's items and the request for the next page, or None when this page is the last.
    """
    start = min(page.skip, len(items))
    chunk = list(items[start : start + page.page_size])
    end = start + len(chunk)
    remaining_top = None if page.top is None else page.top - len(chunk)
    if end >= len(items) or not chunk or (remaining_top is not None and remaining_top <= 0):
        return chunk, None
    return chunk, PageRequest(top=remaining_top, skip=end, maxpagesize=page.maxpagesize)


def next_link(request_url: str, page: PageRequest, params: Mapping[str, str] | None = None) -> str:
    """The absolute URL of the next page: ``request_url`` with its paging parameters replaced.

    Args:
        request_url: The URL of the current request.
        page: The next page's paging parameters.
        params: The request's query parameters, when known separately (they then replace the URL's query).
    """
    parts = urlsplit(request_url)
    pairs = list(params.items()) if params is not None else parse_qsl(parts.query, keep_blank_values=True)
    query = [(key, value) for key, value in pairs if key not in _PAGING_PARAMS]
    if page.top is not None:
        query.append(("top", str(page.top)))
    query.append(("skip", str(page.skip)))
    if page.maxpagesize is not None:
        query.append(("maxpagesize", str(page.maxpagesize)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
