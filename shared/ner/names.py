"""Azure's naming rules: projects, models, deployments, entity categories, document locations, containers.

Each rule is a ``*_problem`` function (the message, or None when the name is valid) so a parser can
collect every problem at once, plus ``validate_*`` for a single name that raise InvalidArgument.

**One rule for every resource name** (project, model label, deployment, exported model): Azure's
"letters, digits, ``_ . -``, no spaces, at most 50 characters", with one addition: the name may not
end with ``.`` (so ``.`` and ``..`` are refused). Names become blob path segments
(``models/{project}/{label}/...``) and URL path segments; Azure Storage says no path segment may end
with a dot, and ``.``/``..`` are resolved away by URL normalisation, so such a name would reach storage
as a different path (or none). Job ids in paths follow the same character set (they are opaque; ours
are ``<guid>_<ticks>``). Every route parameter is checked by :func:`check_route_names` before any
storage call; parameters without a naming rule (catch-alls such as ``filePath``) must be safe relative paths.

Document locations: Azure's naming rule says "letters and numbers with no spaces", but Microsoft's own
sample data contains ``"Test 1.txt"``, so spaces are allowed. Rejected: empty or whitespace-only names,
path separators (``/`` and ``\\``; documents sit at the container root), ``"."`` and ``".."``, control
characters and names longer than 1,024 characters (the blob-name limit).

Values echoed in messages go through :func:`shown`, which bounds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from shared.errors import ErrorDetail, InvalidArgument

MAX_NAME_LENGTH = 50
MAX_JOB_ID_LENGTH = 100
MAX_LOCATION_LENGTH = 1024
MAX_SHOWN_CHARACTERS = 60
"""A value echoed in an error message is cut to this many characters (its length is said)."""
DETAIL_CODE = "InvalidArgument"

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")
_JOB_ID_RE = re.compile(rf"^[A-Za-z0-9_\-]{{1,{MAX_JOB_ID_LENGTH}}}$")
_ENTITY_FORBIDDEN = set(":$&%*()+~#/?")
_CONTAINER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def shown(value: Any, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters.

    A client's value is echoed so they can find it, never in full: a 50 MB field must not make a
    50 MB error (or two).
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(text):,} characters as text"
    return f"{text[:limit]}... ({size})"


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


def resource_name_problem(name: Any, what: str) -> str | None:
    """Why ``name`` is not a valid resource name (the one rule; ``what`` says which, e.g. "project name")."""
    if isinstance(name, str) and _NAME_RE.match(name) and not name.endswith("."):
        return None
    return (
        f"The {what} {shown(name)} is invalid: use 1 to {MAX_NAME_LENGTH} letters, digits, "
        "'_', '.' or '-' (no spaces), not ending with '.'."
    )


def project_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid project name, or None if it is."""
    return resource_name_problem(name, "project name")


def model_label_problem(label: Any) -> str | None:
    """Why ``label`` is not a valid model label (``modelLabel``), or None if it is."""
    return resource_name_problem(label, "model label")


def deployment_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid deployment name, or None if it is."""
    return resource_name_problem(name, "deployment name")


def exported_model_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid exported model name, or None if it is."""
    return resource_name_problem(name, "exported model name")


def job_id_problem(job_id: Any) -> str | None:
    """Why ``job_id`` cannot be a job id (letters, digits, '_' and '-'), or None if it can."""
    if isinstance(job_id, str) and _JOB_ID_RE.match(job_id):
        return None
    return (
        f"The job id {shown(job_id)} is invalid: job ids are 1 to {MAX_JOB_ID_LENGTH} letters, digits, "
        "'_' or '-' (use the id from the job's operation-location)."
    )


ROUTE_NAME_RULES: Mapping[str, Callable[[Any], str | None]] = {
    "projectName": project_name_problem,
    "trainedModelLabel": model_label_problem,
    "modelLabel": model_label_problem,
    "deploymentName": deployment_name_problem,
    "targetDeploymentName": deployment_name_problem,
    "exportedModelName": exported_model_name_problem,
    "jobId": job_id_problem,
}
"""The rule of each route parameter; any other (e.g. a catch-all ``filePath``) must be a safe relative path."""
NAME_QUERY_PARAMETERS = ("trainedModelLabel",)
"""Query parameters that carry a resource name (``:export?trainedModelLabel=``); checked like path ones."""


def relative_path_problem(path: Any, what: str) -> str | None:
    """Why ``path`` is not a safe relative path (catch-all route parameters such as ``filePath``), or None.

    Segments are separated by ``/``; none may be empty, ``.`` or ``..``, and no control characters or
    backslashes, so the path can never leave the folder it is joined to.
    """
    if not isinstance(path, str) or not path or len(path) > MAX_LOCATION_LENGTH:
        return f"The {what} {shown(path)} is invalid: it must be 1 to {MAX_LOCATION_LENGTH} characters."
    segments = path.split("/")
    if "\\" in path or _CONTROL_RE.search(path) or any(part in ("", ".", "..") for part in segments):
        return (
            f"The {what} {shown(path)} is invalid: use '/'-separated names, none empty, '.' or '..', "
            "without backslashes or control characters."
        )
    return None


def check_route_names(params: Mapping[str, str]) -> None:
    """Refuse a request whose path parameters are not valid names (400 naming the parameter).

    Runs before any storage call, so a name like ``..`` can never become a blob or table path.

    Raises:
        InvalidArgument: naming every invalid parameter (one detail each).
    """
    details: list[ErrorDetail] = []
    for key, value in params.items():
        rule = ROUTE_NAME_RULES.get(key)
        problem = rule(value) if rule is not None else relative_path_problem(value, f"'{key}'")
        if problem is not None:
            details.append(ErrorDetail(DETAIL_CODE, problem, key))
    if details:
        raise InvalidArgument(" ".join(d.message for d in details), target=details[0].target, details=details)


def entity_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid entity (category) name, or None if it is.

    Azure allows letters, digits and all symbols except ``: $ & % * ( ) + ~ # / ?``, up to 50
    characters. We also reject control characters and leading/trailing whitespace, which cannot be
    told apart in Language Studio and are almost always a copy-paste mistake.
    """
    if not isinstance(name, str) or not name:
        return f"The entity name {shown(name)} is invalid: it must be a non-empty string."
    if len(name) > MAX_NAME_LENGTH:
        return (
            f"The entity name {shown(name)} is invalid: it has {len(name)} characters; at most {MAX_NAME_LENGTH}."
        )
    bad = sorted(set(name) & _ENTITY_FORBIDDEN)
    if bad:
        return (
            f"The entity name {shown(name)} is invalid: it contains {' '.join(bad)}; entity names may not contain "
            "any of : $ & % * ( ) + ~ # / ?"
        )
    if _CONTROL_RE.search(name) or name != name.strip():
        return (
            f"The entity name {shown(name)} is invalid: it may not contain control characters or start or end "
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
            f"The document location {shown(location)} contains a path separator; documents must sit at the "
            "root of the storage container."
        )
    if location in (".", ".."):
        return f"The document location {shown(location)} is not a file name."
    if _CONTROL_RE.search(location):
        return f"The document location {shown(location)} contains control characters."
    if len(location) > MAX_LOCATION_LENGTH:
        return f"The document location {shown(location)} is longer than {MAX_LOCATION_LENGTH} characters."
    return None


def container_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid Azure Blob container name, or None."""
    if not isinstance(name, str) or not _CONTAINER_RE.match(name):
        return (
            f"The storage container name {shown(name)} is invalid: use 3 to 63 lowercase letters, digits and "
            "single hyphens, starting and ending with a letter or digit."
        )
    return None
