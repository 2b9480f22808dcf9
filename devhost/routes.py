"""Azure Functions (ASP.NET) route templates: parsing, matching and precedence.

Supported: literal segments (also ones holding ``:`` such as ``:train``), ``{name}``, constraints
``{x:int}`` ``{x:alpha}`` ``{x:guid}`` ``{x:bool}`` ``{x:long}`` ``{x:double}`` ``{x:decimal}``
``{x:datetime}`` ``{x:length(n)}`` ``{x:length(a,b)}`` ``{x:minlength(n)}`` ``{x:maxlength(n)}``
``{x:min(n)}`` ``{x:max(n)}`` ``{x:range(a,b)}`` ``{x:regex(...)}`` (several may be chained),
optional ``{x?}``, defaults ``{x=value}``, catch-all ``{*rest}`` and segments that mix literals and
parameters (``{file}.{ext}``). Literals match case-insensitively, like ASP.NET.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

T = TypeVar("T")


class RouteTemplateError(ValueError):
    """The route template is malformed (the message names the template and the problem)."""


@dataclass
class Parameter:
    name: str
    constraints: list[tuple[str, str | None]] = field(default_factory=list)
    optional: bool = False
    catch_all: bool = False
    default: str | None = None


@dataclass
class Segment:
    """One ``/``-separated part: a list of literal strings and parameters."""

    parts: list[str | Parameter]

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    @property
    def parameters(self) -> list[Parameter]:
        return [p for p in self.parts if isinstance(p, Parameter)]


def _int_between(text: str, low: int, high: int) -> bool:
    try:
        return low <= int(text, 10) <= high and text.strip() == text
    except ValueError:
        return False


def _is_double(text: str) -> bool:
    try:
        float(text)
        return text.strip() == text and text.lower() not in {"nan", "inf", "-inf", "infinity", "+inf"}
    except ValueError:
        return False


def _is_decimal(text: str) -> bool:
    try:
        Decimal(text)
        return _is_double(text)
    except InvalidOperation:
        return False


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        return False


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text.strip("{}()"))
        return True
    except ValueError:
        return False


def _ints(argument: str | None, name: str, count: tuple[int, ...]) -> list[int]:
    try:
        values = [int(v.strip()) for v in (argument or "").split(",")]
    except ValueError as exc:
        raise RouteTemplateError(f"constraint '{name}' needs integer arguments, got '{argument}'") from exc
    if len(values) not in count:
        raise RouteTemplateError(f"constraint '{name}' takes {' or '.join(map(str, count))} argument(s)")
    return values


def _compile_constraint(name: str, argument: str | None) -> Callable[[str], bool]:
    key = name.lower()
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: _int_between(v, -(2**31), 2**31 - 1),
        "long": lambda v: _int_between(v, -(2**63), 2**63 - 1),
        "alpha": lambda v: re.fullmatch(r"[a-zA-Z]+", v) is not None,
        "bool": lambda v: v.lower() in {"true", "false"},
        "guid": _is_guid,
        "double": _is_double,
        "float": _is_double,
        "decimal": _is_decimal,
        "datetime": _is_datetime,
    }
    if key in simple:
        return simple[key]
    if key == "length":
        bounds = _ints(argument, name, (1, 2))
        low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
        return lambda v: low <= len(v) <= high
    if key == "minlength":
        (low,) = _ints(argument, name, (1,))
        return lambda v: len(v) >= low
    if key == "maxlength":
        (high,) = _ints(argument, name, (1,))
        return lambda v: len(v) <= high
    if key in {"min", "max", "range"}:
        bounds = _ints(argument, name, (2,) if key == "range" else (1,))
        low = bounds[0] if key != "max" else -(2**63)
        high = bounds[-1] if key != "min" else 2**63 - 1
        return lambda v: _int_between(v, low, high)
    if key == "regex":
        if argument is None:
            raise RouteTemplateError("constraint 'regex' needs a pattern")
        try:
            pattern = re.compile(argument, re.IGNORECASE)
        except re.error as exc:
            raise RouteTemplateError(f"invalid regex constraint '{argument}': {exc}") from exc
        # ASP.NET's regex constraint is a search, not a full match (patterns usually carry ^...$).
        return lambda v: pattern.search(v) is not None
    raise RouteTemplateError(f"unknown route constraint '{name}'")


def _split_constraints(text: str) -> list[tuple[str, str | None]]:
    """``int:min(1):regex(^a:b$)`` -> [(int, None), (min, 1), (regex, ^a:b$)]; colons inside () are kept."""
    constraints: list[tuple[str, str | None]] = []
    index = 0
    while index < len(text):
        match = re.match(r"([A-Za-z]+)", text[index:])
        if not match:
            raise RouteTemplateError(f"invalid constraint list '{text}'")
        name = match.group(1)
        index += len(name)
        argument = None
        if index < len(text) and text[index] == "(":
            depth = 0
            start = index + 1
            while index < len(text):
                if text[index] == "(":
                    depth += 1
                elif text[index] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                index += 1
            if depth != 0:
                raise RouteTemplateError(f"unbalanced parentheses in constraint '{text}'")
            argument = text[start:index]
            index += 1
        constraints.append((name, argument))
        if index < len(text):
            if text[index] != ":":
                raise RouteTemplateError(f"invalid constraint list '{text}'")
            index += 1
    return constraints


def _parse_parameter(body: str, template: str) -> Parameter:
    # Braces inside a parameter (regex quantifiers) are written doubled in ASP.NET templates.
    body = body.replace("{{", "{").replace("}}", "}")
    catch_all = body.startswith("*")
    if catch_all:
        body = body.lstrip("*")
    match = re.match(r"([^:?=]+)", body)
    if not match:
        raise RouteTemplateError(f"route template '{template}' has an empty parameter name")
    name = match.group(1).strip()
    rest = body[len(match.group(1)):]
    optional = False
    default = None
    constraints: list[tuple[str, str | None]] = []
    if rest.startswith(":"):
        # Constraints run to a trailing '?' or '=default' that is outside parentheses.
        depth = 0
        end = len(rest)
        for position, char in enumerate(rest):
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif depth == 0 and char in "?=":
                end = position
                break
        constraints = _split_constraints(rest[1:end])
        rest = rest[end:]
    if rest.startswith("?"):
        optional = True
        rest = rest[1:]
    if rest.startswith("="):
        default = rest[1:]
        rest = ""
    if rest:
        raise RouteTemplateError(f"route template '{template}': cannot parse parameter '{{{body}}}'")
    return Parameter(name=name, constraints=constraints, optional=optional, catch_all=catch_all, default=default)


def _parse_segment(text: str, template: str) -> Segment:
    parts: list[str | Parameter] = []
    index = 0
    literal = ""
    while index < len(text):
        char = text[index]
        if char == "{":
            if text.startswith("{{", index):
                literal += "{"
                index += 2
                continue
            depth = 0
            end = index
            # Find the closing brace, allowing braces inside regex(...) quantifiers.
            while end < len(text):
                if text[end] == "{":
                    depth += 1
                elif text[end] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                end += 1
            if end >= len(text):
                raise RouteTemplateError(f"route template '{template}' has an unclosed '{{'")
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(_parse_parameter(text[index + 1:end], template))
            index = end + 1
            continue
        if char == "}":
            if text.startswith("}}", index):
                literal += "}"
                index += 2
                continue
            raise RouteTemplateError(f"route template '{template}' has an unmatched '}}'")
        literal += char
        index += 1
    if literal:
        parts.append(literal)
    if sum(1 for p in parts if isinstance(p, Parameter)) > 1 and any(
        isinstance(a, Parameter) and isinstance(b, Parameter) for a, b in zip(parts, parts[1:], strict=False)
    ):
        raise RouteTemplateError(f"route template '{template}': two parameters must be separated by a literal")
    return Segment(parts)


@dataclass
class RouteTemplate:
    """A parsed route template (prefix included) that matches request paths."""

    template: str
    segments: list[Segment]
    _regex: re.Pattern[str]
    _groups: dict[str, Parameter]
    _checks: dict[str, list[Callable[[str], bool]]]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        """Parse ``template`` (with or without a leading ``/``).

        Raises:
            RouteTemplateError: malformed template, unknown constraint, duplicate parameter, misplaced
                catch-all or optional parameter.
        """
        cleaned = template.strip().strip("/")
        raw_segments = cleaned.split("/") if cleaned else []
        segments = [_parse_segment(raw, template) for raw in raw_segments]
        names: set[str] = set()
        groups: dict[str, Parameter] = {}
        checks: dict[str, list[Callable[[str], bool]]] = {}
        pattern = "^"
        for position, segment in enumerate(segments):
            is_last = position == len(segments) - 1
            segment_pattern = ""
            for part in segment.parts:
                if isinstance(part, str):
                    segment_pattern += re.escape(part)
                    continue
                if part.name.lower() in names:
                    raise RouteTemplateError(f"route template '{template}' repeats parameter '{part.name}'")
                names.add(part.name.lower())
                if part.catch_all and not is_last:
                    raise RouteTemplateError(f"route template '{template}': catch-all must be the last segment")
                group = f"p{len(groups)}"
                groups[group] = part
                checks[group] = [_compile_constraint(n, a) for n, a in part.constraints]
                segment_pattern += f"(?P<{group}>.*)" if part.catch_all else f"(?P<{group}>[^/]+)"
            whole_optional = len(segment.parts) == 1 and isinstance(segment.parts[0], Parameter) and (
                segment.parts[0].optional or segment.parts[0].catch_all or segment.parts[0].default is not None
            )
            if whole_optional:
                if not is_last and not all(_segment_optional(s) for s in segments[position + 1:]):
                    raise RouteTemplateError(
                        f"route template '{template}': an optional parameter must be at the end"
                    )
                pattern += f"(?:/{segment_pattern})?" if position else f"(?:{segment_pattern})?"
            else:
                pattern += f"/{segment_pattern}" if position else segment_pattern
        pattern += "/?$"
        return cls(template, segments, re.compile(pattern, re.IGNORECASE | re.DOTALL), groups, checks)

    def match(self, path: str) -> dict[str, str] | None:
        """Route values when ``path`` (decoded, without query) matches, else None."""
        found = self._regex.match(path.strip("/"))
        if found is None:
            return None
        values: dict[str, str] = {}
        for group, parameter in self._groups.items():
            value = found.group(group)
            if value is None or value == "":
                if parameter.default is not None:
                    values[parameter.name] = parameter.default
                elif not (parameter.optional or parameter.catch_all):
                    return None
                continue
            if not all(check(value) for check in self._checks[group]):
                return None
            values[parameter.name] = value
        return values

    def precedence(self) -> tuple[int, ...]:
        """ASP.NET inbound precedence digits per segment: lower sorts first (more specific).

        Literal 1, mixed literal/parameter 2, constrained parameter 3, parameter 4, catch-all 5.
        """
        digits = []
        for segment in self.segments:
            if segment.is_literal:
                digits.append(1)
            elif len(segment.parts) > 1:
                digits.append(2)
            else:
                parameter = segment.parameters[0]
                digits.append(5 if parameter.catch_all else 3 if parameter.constraints else 4)
        return tuple(digits)


def _segment_optional(segment: Segment) -> bool:
    return len(segment.parts) == 1 and isinstance(segment.parts[0], Parameter) and (
        segment.parts[0].optional or segment.parts[0].catch_all or segment.parts[0].default is not None
    )


def join_route(prefix: str, route: str) -> str:
    """``prefix`` + ``route`` as one template without leading/trailing slashes."""
    return "/".join(p for p in (prefix.strip("/"), route.strip().strip("/")) if p)


@dataclass
class RouteEntry(Generic[T]):
    template: RouteTemplate
    methods: frozenset[str] | None
    target: T
    order: int


@dataclass
class RouteMatch(Generic[T]):
    target: T
    route_params: dict[str, str]
    template: RouteTemplate


class RouteTable(Generic[T]):
    """Routes ordered by precedence (literal beats constrained parameter beats parameter beats catch-all)."""

    def __init__(self) -> None:
        self._entries: list[RouteEntry[T]] = []

    def add(self, template: str, methods: Iterable[str] | None, target: T) -> RouteTemplate:
        """Register ``target`` for ``template`` (prefix included); ``methods`` None means all."""
        parsed = RouteTemplate.parse(template)
        method_set = frozenset(m.upper() for m in methods) if methods else None
        self._entries.append(RouteEntry(parsed, method_set, target, len(self._entries)))
        # Stable sort: equal precedence keeps registration order, as the Functions host does.
        self._entries.sort(key=lambda e: (e.template.precedence(), e.order))
        return parsed

    def match(self, method: str, path: str) -> RouteMatch[T] | None:
        """The most specific route that matches ``path`` and allows ``method``."""
        for entry in self._entries:
            if entry.methods is not None and method.upper() not in entry.methods:
                continue
            values = entry.template.match(path)
            if values is not None:
                return RouteMatch(entry.target, values, entry.template)
        return None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._entries))
