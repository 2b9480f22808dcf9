"""Validate JSON bodies against the vendored fragments of Azure's authoring swagger (see SOURCE.md).

A fragment (``swagger/<api-version>.deployments.json``) holds the deployment operations of one
api-version (operationId, response schemas, example file names) and the definitions they reference.
Swagger 2.0 schemas are a subset of JSON Schema draft 4, validated here with ``jsonschema`` plus two rules
of Azure's own example validator (oav), so a body the spec's examples would pass passes here too:

- ``null`` is accepted for a property that is not ``required`` (Swagger 2.0 cannot say "nullable"; oav
  accepts it since Azure/oav#155; the examples' own ``"nextLink": null`` needs it). A required property
  must never be ``null``.
- ``format`` is checked: ``date`` is ``YYYY-MM-DD``, ``date-time`` is RFC 3339 (with ``T`` and a zone),
  ``uri`` is an absolute URL. ``readOnly`` has no effect on responses.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema

HERE = Path(__file__).resolve().parent
SWAGGER = HERE / "swagger"
EXAMPLES = HERE / "examples"
PROJECTS = "/authoring/analyze-text/projects"

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats constrain strings only; "type" catches the rest
    return bool(_DATE.match(value)) and date.fromisoformat(value) is not None


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    # Python < 3.11 cannot parse 7 fractional digits (Azure's own examples have them): cut to 6.
    normalised = re.sub(r"(\.\d{6})\d+", r"\1", value.upper().replace("Z", "+00:00"))
    datetime.fromisoformat(normalised)
    return True


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme in ("http", "https") and parts.netloc)


@cache
def fragment(api_version: str) -> dict[str, Any]:
    """The vendored swagger fragment of ``api_version``."""
    loaded: dict[str, Any] = json.loads((SWAGGER / f"{api_version}.deployments.json").read_text())
    return loaded


def example(api_version: str, name: str) -> dict[str, Any]:
    """A vendored example file (``name`` without ``.json``)."""
    loaded: dict[str, Any] = json.loads((EXAMPLES / api_version / f"{name}.json").read_text())
    return loaded


def _nullable_optionals(node: Any) -> Any:
    """A copy of ``node`` where every non-required object property also accepts ``null`` (oav's rule)."""
    if isinstance(node, list):
        return [_nullable_optionals(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_optionals(value) for key, value in node.items()}
    properties = out.get("properties")
    if isinstance(properties, dict):
        required = set(out.get("required", []))
        out["properties"] = {
            name: schema if name in required else {"anyOf": [schema, {"type": "null"}]}
            for name, schema in properties.items()
        }
    return out


def response_schema(api_version: str, path: str, method: str, status: str) -> dict[str, Any]:
    """The JSON Schema of one documented response (``path`` below ``/authoring/analyze-text/projects``).

    Raises:
        KeyError: the fragment documents no such operation or status (a test or vendoring mistake).
    """
    spec = fragment(api_version)
    operation = spec["paths"][PROJECTS + path][method.lower()]
    schema = operation["responses"][status].get("schema")
    if schema is None:
        raise KeyError(f"{method} {path} {status} has no body in the {api_version} spec")
    return {"definitions": _nullable_optionals(copy.deepcopy(spec["definitions"])), **schema}


def problems(api_version: str, path: str, method: str, status: str, body: Any) -> list[str]:
    """Every way ``body`` breaks the documented response schema (empty when it conforms)."""
    validator = jsonschema.Draft4Validator(
        response_schema(api_version, path, method, status), format_checker=FORMATS
    )
    found = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    return [f"{'/'.join(map(str, error.absolute_path)) or '<body>'}: {error.message}" for error in found]


def examples_of(api_version: str) -> dict[str, tuple[str, str]]:
    """Example file name (without ``.json``) -> (path below projects, method), as the fragment names them."""
    named: dict[str, tuple[str, str]] = {}
    for full_path, methods in fragment(api_version)["paths"].items():
        for method, operation in methods.items():
            for reference in operation.get("x-ms-examples", {}).values():
                named[Path(reference).stem] = (full_path[len(PROJECTS) :], method)
    return named
