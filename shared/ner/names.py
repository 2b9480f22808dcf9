"""Azure's naming rules: projects, model labels, entity categories, document locations, containers.

Each rule is a ``*_problem`` function (the message, or None when the name is valid) so a parser can
collect every problem at once, plus ``validate_*`` for a single name that raise InvalidArgument.
Document locations: Azure's naming rule says "letters and numbers with no spaces", but Microsoft's own
sample data contains ``"Test 1.txt"``, so spaces are allowed. Rejected: empty or whitespace-only names,
path separators (``/`` and ``\\``; documents sit at the container root), ``"."`` and ``".."``, control
characters and names longer than 1,024 characters (the blob-name limit).
"""

from __future__ import annotations

import re
from typing import Any

from shared.errors import ErrorDetail, InvalidArgument

MAX_NAME_LENGTH = 50
MAX_LOCATION_LENGTH = 1024
DETAIL_CODE = "InvalidArgument"

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")
_ENTITY_FORBIDDEN = set(":$&%*()+~#/?")
_CONTAINER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def json_type(value: Any) -> str:
    """A JSON value's type as a message says it ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def project_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid project name, or None if it is."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        return (
            f"The project name {name!r} is invalid: use 1 to {MAX_NAME_LENGTH} letters, digits, "
            "'_', '.' or '-' (no spaces)."
        )
    return None


def model_label_problem(label: Any) -> str | None:
    """Why ``label`` is not a valid model label (``modelLabel``), or None if it is."""
    if not isinstance(label, str) or not _NAME_RE.match(label):
        return (
            f"The model label {label!r} is invalid: use 1 to {MAX_NAME_LENGTH} letters, digits, "
            "'_', '.' or '-' (no spaces)."
        )
    return None


def entity_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid entity (category) name, or None if it is.

    Azure allows letters, digits and all symbols except ``: $ & % * ( ) + ~ # / ?``, up to 50
    characters. We also reject control characters and leading/trailing whitespace, which cannot be
    told apart in Language Studio and are almost always a copy-paste mistake.
    """
    if not isinstance(name, str) or not name:
        return f"The entity name {name!r} is invalid: it must be a non-empty string."
    if len(name) > MAX_NAME_LENGTH:
        return (
            f"The entity name {name!r} is invalid: it has {len(name)} characters; at most {MAX_NAME_LENGTH}."
        )
    bad = sorted(set(name) & _ENTITY_FORBIDDEN)
    if bad:
        return (
            f"The entity name {name!r} is invalid: it contains {' '.join(bad)}; entity names may not contain "
            "any of : $ & % * ( ) + ~ # / ?"
        )
    if _CONTROL_RE.search(name) or name != name.strip():
        return (
            f"The entity name {name!r} is invalid: it may not contain control characters or start or end "
            "with whitespace."
        )
    return None


def _raise_single(problem: str | None, target: str) -> None:
    if problem is not None:
        raise InvalidArgument(problem, target=target, details=[ErrorDetail(DETAIL_CODE, problem, target)])


def validate_project_name(name: str) -> None:
    """Raise InvalidArgument (target ``projectName``) unless ``name`` follows Azure's project naming rule."""
    _raise_single(project_name_problem(name), "projectName")


def validate_model_label(label: str) -> None:
    """Raise InvalidArgument (target ``modelLabel``) unless ``label`` follows Azure's model naming rule."""
    _raise_single(model_label_problem(label), "modelLabel")


def validate_entity_name(name: str) -> None:
    """Raise InvalidArgument (target ``category``) unless ``name`` follows Azure's entity naming rule."""
    _raise_single(entity_name_problem(name), "category")


def location_problem(location: Any) -> str | None:
    """Why ``location`` is not an acceptable document location (see the module docstring), or None."""
    if not isinstance(location, str):
        return f"The document location must be a string, not {json_type(location)}."
    if not location.strip():
        return "The document location is empty."
    if "/" in location or "\\" in location:
        return (
            f"The document location {location!r} contains a path separator; documents must sit at the "
            "root of the storage container."
        )
    if location in (".", ".."):
        return f"The document location {location!r} is not a file name."
    if _CONTROL_RE.search(location):
        return f"The document location {location!r} contains control characters."
    if len(location) > MAX_LOCATION_LENGTH:
        return f"The document location {location[:40]!r}... is longer than {MAX_LOCATION_LENGTH} characters."
    return None


def container_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid Azure Blob container name, or None."""
    if not isinstance(name, str) or not _CONTAINER_RE.match(name):
        return (
            f"The storage container name {name!r} is invalid: use 3 to 63 lowercase letters, digits and "
            "single hyphens, starting and ending with a letter or digit."
        )
    return None
