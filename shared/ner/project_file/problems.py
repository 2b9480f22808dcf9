"""Collecting every problem of a JSON document and reporting them as one InvalidArgument."""

from __future__ import annotations

from typing import Any

from shared.errors import ErrorDetail, InvalidArgument
from shared.ner.names import DETAIL_CODE, json_type

MAX_ERROR_DETAILS = 50
"""At most this many problems are listed in ``details``; the message says how many more were found."""


class Problems:
    """Collects every problem found; raised as one InvalidArgument at the end."""

    def __init__(self) -> None:
        self.details: list[ErrorDetail] = []

    def add(self, target: str, message: str) -> None:
        self.details.append(ErrorDetail(DETAIL_CODE, message, target))

    def raise_if_any(self) -> None:
        if not self.details:
            return
        count = len(self.details)
        shown = self.details[:MAX_ERROR_DETAILS]
        message = (
            f"The project file is invalid: {count} problem{'s' if count != 1 else ''} found. "
            f"First: {shown[0].message}"
        )
        if count > MAX_ERROR_DETAILS:
            message += (
                f" Only the first {MAX_ERROR_DETAILS} problems are listed in details; "
                f"{count - MAX_ERROR_DETAILS} more were found."
            )
        raise InvalidArgument(message, target=shown[0].target, details=shown)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def required_str(obj: dict[str, Any], key: str, path: str, problems: Problems) -> str | None:
    value = obj.get(key)
    if value is None:
        problems.add(f"{path}.{key}" if path else key, f"{path + '.' if path else ''}{key} is required.")
        return None
    if not isinstance(value, str):
        problems.add(
            f"{path}.{key}" if path else key,
            f"{path + '.' if path else ''}{key} must be a string, not {json_type(value)}.",
        )
        return None
    return value


def check(problems: Problems, target: str, problem: str | None) -> bool:
    if problem is not None:
        problems.add(target, problem)
        return False
    return True
