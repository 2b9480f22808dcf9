"""Helpers that turn record fields into Table entity properties and back.

Table Storage limits a string property to 64 KiB (32K UTF-16 code units) and an entity to 1 MiB. Nested
values are stored as JSON strings written with ``ensure_ascii`` (so their length in characters equals
their length in UTF-16 code units), and the unbounded lists a job collects (warnings, errors) are capped
by :func:`cap_items` so a write never fails because a job produced many warnings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.errors import InvalidArgument, StorageError
from shared.jobs.status import ACTIVE
from shared.storage.clients import storage_call

logger = logging.getLogger(__name__)

# Rows of active jobs (any job table). The SDK substitutes parameters in space-separated words, hence
# the space before ")".
ACTIVE_STATUS_FILTER = "(status eq @s0 or status eq @s1 or status eq @s2 )"
ACTIVE_STATUS_PARAMS = dict(zip(("s0", "s1", "s2"), sorted(str(status) for status in ACTIVE), strict=True))

MAX_PROPERTY_CHARS = 32_000
"""Longest string we write into one property (the service limit is 32,768 UTF-16 code units)."""
ITEMS_BUDGET_CHARS = 30_000
"""JSON budget of a capped list before the "N more were omitted" item is appended."""
MAX_ITEM_MESSAGE_CHARS = 2_000
"""A single warning/error message longer than this is shortened."""
MODIFY_ATTEMPTS = 10
"""How often a read-change-write is retried when another writer changed the row in between."""

_FORBIDDEN_KEY_CHARS = set("/\\#?")

T = TypeVar("T")


def check_key(value: str, field: str) -> str:
    """Return ``value`` if it is usable as a PartitionKey/RowKey part.

    Raises:
        InvalidArgument: naming ``field`` if the value is empty, too long or has ``/ \\ # ?`` or
            control characters, which Table Storage rejects in keys.
    """
    if not value or len(value) > 512:
        raise InvalidArgument(
            message=f"'{field}' must be 1 to 512 characters long, got {len(value)}.", target=field
        )
    bad = sorted(
        {ch for ch in value if ch in _FORBIDDEN_KEY_CHARS or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F}
    )
    if bad:
        raise InvalidArgument(
            message=f"'{field}' value {value!r} contains characters that cannot be stored: {bad!r}.",
            target=field,
        )
    return value


def to_property_datetime(value: datetime | None) -> datetime | None:
    """A timezone-aware UTC datetime for writing (a naive value is taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_property_datetime(value: Any) -> datetime | None:
    """A plain timezone-aware UTC ``datetime`` (not the SDK's ``TablesEntityDatetime`` subclass)."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise TypeError(f"expected a datetime property, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return datetime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=UTC,
    )


def check_string(value: str | None, field: str) -> str | None:
    """Return ``value`` if it fits in one property.

    Raises:
        InvalidArgument: naming ``field`` when the value is longer than a property can hold.
    """
    if value is not None and len(value.encode("utf-16-le")) // 2 > MAX_PROPERTY_CHARS:
        raise InvalidArgument(
            message=f"'{field}' is too long to store ({len(value)} characters; at most {MAX_PROPERTY_CHARS}).",
            target=field,
        )
    return value


def to_json_property(value: Any, field: str) -> str:
    """``value`` as a compact ASCII JSON string that fits in one property.

    Raises:
        InvalidArgument: naming ``field`` when the JSON is longer than a property can hold.
    """
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    if len(text) > MAX_PROPERTY_CHARS:
        raise InvalidArgument(
            message=f"'{field}' is too large to store ({len(text)} characters of JSON; at most {MAX_PROPERTY_CHARS}).",
            target=field,
        )
    return text


def from_json_property(value: Any, default: T) -> Any | T:
    """Parse a JSON property; ``default`` when the property is absent or empty."""
    if value is None or value == "":
        return default
    return json.loads(value)


def _shorten(item: dict[str, Any]) -> dict[str, Any]:
    message = item.get("message")
    if isinstance(message, str) and len(message) > MAX_ITEM_MESSAGE_CHARS:
        item = dict(item)
        item["message"] = message[: MAX_ITEM_MESSAGE_CHARS - 20] + " ... (shortened)"
    return item


def cap_items(items: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Keep the first items whose JSON fits the property budget, then one item counting the rest.

    Args:
        items: Azure ``{code, message[, target]}`` objects (warnings or errors).
        kind: ``"warnings"`` or ``"errors"``, used in the summary item.

    Returns:
        ``items`` itself when it fits; otherwise a prefix plus ``{"code": "TooMany<Kind>", "message":
        "N more <kind> were omitted."}``.
    """
    kept: list[dict[str, Any]] = []
    used = 2  # the brackets of the JSON array
    for index, raw in enumerate(items):
        item = _shorten(raw)
        size = len(json.dumps(item, ensure_ascii=True, separators=(",", ":"))) + 1
        if used + size > ITEMS_BUDGET_CHARS:
            omitted = len(items) - index
            code = "Warning" if kind == "warnings" else "InternalServerError"
            kept.append(
                {
                    "code": code,
                    "message": f"{omitted} more {kind} were omitted (only the first {index} are stored).",
                }
            )
            return kept
        kept.append(item)
        used += size
    return kept


def etag_of(entity: TableEntity) -> str | None:
    """The ETag the service returned with ``entity``."""
    etag = entity.metadata.get("etag")
    return str(etag) if etag else None


def etag_from_response(response: dict[str, Any]) -> str | None:
    """The new ETag from the metadata dict returned by ``create_entity`` / ``update_entity``."""
    etag = response.get("etag")
    return str(etag) if etag else None


def read_entity(client: TableClient, partition_key: str, row_key: str, what: str) -> TableEntity | None:
    """The entity, or None if it does not exist.

    Raises:
        StorageError: the read failed for another reason.
    """
    with storage_call(what):
        try:
            return client.get_entity(partition_key=partition_key, row_key=row_key)
        except ResourceNotFoundError:
            return None


def replace_if_unchanged(client: TableClient, entity: dict[str, Any], etag: str, what: str) -> str | None:
    """Replace ``entity`` only if its row still has ``etag``; returns the new ETag.

    Raises:
        ResourceModifiedError: another writer changed the row since it was read (412).
        ResourceNotFoundError: the row was deleted since it was read.
        StorageError: any other failure.
    """
    with storage_call(what):
        response = client.update_entity(
            entity=entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
        )
    return etag_from_response(response)


def modify_entity(
    client: TableClient,
    partition_key: str,
    row_key: str,
    *,
    load: Callable[[TableEntity], T],
    dump: Callable[[T], dict[str, Any]],
    change: Callable[[T], None],
    not_found: Callable[[], Exception],
    what: str,
) -> T:
    """Read a row, apply ``change`` to its record and write it back only if nobody wrote in between.

    On a lost race (HTTP 412) the row is read again and ``change`` is applied again, up to
    :data:`MODIFY_ATTEMPTS` times, so ``change`` must be a pure function of the record it gets.
    An exception raised by ``change`` propagates and nothing is written.

    Returns:
        The record as written, with its new ``etag``.

    Raises:
        The error ``not_found()`` returns when the row does not exist (or disappears meanwhile);
        StorageError when the row kept changing under us or storage failed.
    """
    def attempt() -> T:
        entity = read_entity(client, partition_key, row_key, f"read {what}")
        if entity is None:
            raise not_found()
        record = load(entity)
        change(record)
        try:
            new_etag = replace_if_unchanged(client, dump(record), etag_of(entity) or "*", f"update {what}")
        except ResourceNotFoundError:
            raise not_found() from None
        record.etag = new_etag  # type: ignore[attr-defined]
        return record

    return retry_lost_races(f"update {what}", attempt)


class LostRace(Exception):
    """An ETag-conditional write lost against another writer: read again and decide again."""


def retry_lost_races(what: str, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` (read, decide, conditional write) until it does not lose a race.

    A lost race is ``ResourceModifiedError`` (HTTP 412) or :class:`LostRace`; after
    :data:`MODIFY_ATTEMPTS` of them the call gives up.

    Raises:
        StorageError: every attempt lost; anything else ``attempt`` raises propagates.
    """
    for _ in range(MODIFY_ATTEMPTS):
        try:
            return attempt()
        except (ResourceModifiedError, LostRace):
            continue  # someone else wrote first: decide again on the fresh row
    # The message reaches clients: no table names (``what`` goes to the log).
    logger.warning("storage call gave up: %s lost %d races against concurrent writers", what, MODIFY_ATTEMPTS)
    raise StorageError(
        message="The service is busy with concurrent updates to the same resource; retry in a few seconds."
    )


def required_datetime(entity: TableEntity, name: str) -> datetime:
    """A datetime property every row of the table has (a row without it is corrupt)."""
    value = from_property_datetime(entity.get(name))
    if value is None:
        raise ValueError(f"row {entity.get('PartitionKey')}/{entity.get('RowKey')} has no '{name}'")
    return value


def drop_none(entity: dict[str, Any]) -> dict[str, Any]:
    """The entity without its None properties (the Table service stores no nulls)."""
    return {key: value for key, value in entity.items() if value is not None}
