"""ASP.NET Core route precedence with a catch-all registered first (tests/apps/catchall_app, issue 10 #5):
literal segments before constrained parameters before parameters before ``{*path}``, whatever the
registration order; a known path with a method its function does not take falls through to the
catch-all (as the Functions host's router does), so the app can answer 404/405 itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.http_server import build_route_table
from devhost.indexer import load_app

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "catchall_app"
PROJECTS = "/language/authoring/analyze-text/projects"


@pytest.mark.parametrize(
    ("method", "path", "function", "params"),
    [
        ("GET", f"{PROJECTS}/global/languages", "languages", {}),
        ("GET", f"{PROJECTS}/GLOBAL/Languages", "languages", {}),
        ("GET", f"{PROJECTS}/p1", "get_project", {"projectName": "p1"}),
        ("GET", f"{PROJECTS}/global", "get_project", {"projectName": "global"}),
        ("POST", f"{PROJECTS}/p1/:train", "train", {"projectName": "p1"}),
        ("GET", f"{PROJECTS}/p1/models/m1", "get_model", {"projectName": "p1", "label": "m1"}),
        # Unknown paths, wrong methods and failed constraints reach the catch-all.
        ("GET", f"{PROJECTS}/p1/models/{'m' * 51}", "unknown_route", None),
        ("GET", "/language/nothing/here", "unknown_route", {"path": "nothing/here"}),
        ("GET", "/language", "unknown_route", {}),
        ("DELETE", f"{PROJECTS}/global/languages", "unknown_route", None),
        ("PUT", f"{PROJECTS}/p1/:train", "unknown_route", None),
        ("GET", f"{PROJECTS}/p1/:unknown-action", "unknown_route", None),
    ],
)
def test_catch_all_registered_first_only_gets_what_nothing_else_takes(
    method: str, path: str, function: str, params: dict[str, str] | None
) -> None:
    table, _ = build_route_table(load_app(APP_DIR))
    match = table.match(method, path)
    assert match is not None
    assert match.target.function.name == function
    if params is not None:
        assert match.route_params == params


def test_paths_outside_the_prefix_match_nothing() -> None:
    table, _ = build_route_table(load_app(APP_DIR))
    assert table.match("GET", "/api/authoring") is None
