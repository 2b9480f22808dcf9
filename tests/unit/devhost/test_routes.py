"""Route templates: every form the app uses, constraints, precedence and case-insensitivity."""

from __future__ import annotations

import pytest

from devhost.routes import RouteTable, RouteTemplate, RouteTemplateError, join_route

AUTHORING = "language/authoring/analyze-text/projects"


def match(template: str, path: str) -> dict[str, str] | None:
    return RouteTemplate.parse(template).match(path)


def test_plain_parameters_and_trailing_slash() -> None:
    assert match("api/hello/{name}", "/api/hello/bob") == {"name": "bob"}
    assert match("api/hello/{name}", "/api/hello/bob/") == {"name": "bob"}
    assert match("api/hello/{name}", "/api/hello") is None
    assert match("api/hello/{name}", "/api/hello/bob/extra") is None


def test_colon_literal_segments_like_the_authoring_api() -> None:
    train = f"{AUTHORING}/{{projectName}}/:train"
    cancel = f"{AUTHORING}/{{projectName}}/train/jobs/{{jobId}}/:cancel"
    assert match(train, f"/{AUTHORING}/MyProject/:train") == {"projectName": "MyProject"}
    assert match(train, f"/{AUTHORING}/MyProject/train") is None
    assert match(cancel, f"/{AUTHORING}/p/train/jobs/1234-ab/:cancel") == {"projectName": "p", "jobId": "1234-ab"}
    assert match(cancel, f"/{AUTHORING}/p/train/jobs/1234-ab/cancel") is None


def test_literals_match_case_insensitively_and_values_keep_case() -> None:
    assert match("api/Projects/{name}/:Train", "/API/projects/MixedCase/:TRAIN") == {"name": "MixedCase"}


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        ("int", ["0", "-12", "2147483647"], ["1.5", "abc", "2147483648"]),
        ("long", ["9223372036854775807"], ["x"]),
        ("alpha", ["abcXYZ"], ["abc1", "a-b"]),
        ("bool", ["true", "False"], ["yes", "1"]),
        ("guid", ["3f2504e0-4f89-11d3-9a0c-0305e82c3301"], ["3f2504e0", "not-a-guid"]),
        ("length(3)", ["abc"], ["ab", "abcd"]),
        ("length(2,4)", ["ab", "abcd"], ["a", "abcde"]),
        ("minlength(2)", ["ab"], ["a"]),
        ("maxlength(2)", ["ab"], ["abc"]),
        ("min(10)", ["10", "11"], ["9"]),
        ("max(10)", ["10"], ["11"]),
        ("range(1,3)", ["1", "3"], ["0", "4"]),
        ("double", ["1.5", "-2"], ["x"]),
        ("regex(^[a-z]{{2}}\\d$)", ["ab1"], ["abc1", "a1"]),
        ("int:min(5)", ["5"], ["4", "x"]),
    ],
)
def test_constraints(constraint: str, good: list[str], bad: list[str]) -> None:
    template = RouteTemplate.parse(f"api/v/{{x:{constraint}}}")
    for value in good:
        assert template.match(f"/api/v/{value}") == {"x": value}, value
    for value in bad:
        assert template.match(f"/api/v/{value}") is None, value


def test_optional_default_and_catch_all() -> None:
    assert match("api/opt/{a}/{b?}", "/api/opt/1") == {"a": "1"}
    assert match("api/opt/{a}/{b?}", "/api/opt/1/2") == {"a": "1", "b": "2"}
    assert match("api/def/{page=1}", "/api/def") == {"page": "1"}
    assert match("api/def/{page=1}", "/api/def/7") == {"page": "7"}
    assert match("api/files/{*rest}", "/api/files/a/b/c.txt") == {"rest": "a/b/c.txt"}
    assert match("api/files/{*rest}", "/api/files") == {}
    assert match("api/opt/{id:int?}", "/api/opt/x") is None


def test_complex_segment_takes_the_last_separator() -> None:
    assert match("api/f/{file}.{ext}", "/api/f/archive.tar.gz") == {"file": "archive.tar", "ext": "gz"}


@pytest.mark.parametrize(
    "template",
    ["api/{a}/{a}", "api/{*rest}/x", "api/{a?}/b", "api/{x:unknown}", "api/{x", "api/{a}{b}"],
)
def test_invalid_templates_raise(template: str) -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate.parse(template)


def test_most_specific_route_wins_regardless_of_registration_order() -> None:
    table: RouteTable[str] = RouteTable()
    table.add("api/items/{*rest}", None, "catch-all")
    table.add("api/items/{name}", ["GET"], "name")
    table.add("api/items/{id:int}", ["GET"], "int")
    table.add("api/items/special", ["GET"], "literal")
    assert table.match("GET", "/api/items/special").target == "literal"  # type: ignore[union-attr]
    assert table.match("GET", "/api/items/SPECIAL").target == "literal"  # type: ignore[union-attr]
    assert table.match("GET", "/api/items/42").target == "int"  # type: ignore[union-attr]
    assert table.match("GET", "/api/items/abc").target == "name"  # type: ignore[union-attr]
    assert table.match("GET", "/api/items/a/b").target == "catch-all"  # type: ignore[union-attr]


def test_method_filter_falls_through_to_other_routes_or_none() -> None:
    table: RouteTable[str] = RouteTable()
    table.add(f"{AUTHORING}/{{projectName}}", ["GET"], "get")
    table.add(f"{AUTHORING}/{{projectName}}", ["PATCH"], "patch")
    table.add(f"{AUTHORING}/{{projectName}}/:train", ["POST"], "train")
    found = table.match("patch", f"/{AUTHORING}/p1")
    assert found is not None and found.target == "patch" and found.route_params == {"projectName": "p1"}
    assert table.match("DELETE", f"/{AUTHORING}/p1") is None
    assert table.match("GET", f"/{AUTHORING}/p1/:train") is None
    assert table.match("GET", "/somewhere/else") is None


def test_join_route_handles_empty_prefix_and_slashes() -> None:
    assert join_route("api", "/hello/") == "api/hello"
    assert join_route("", "hello") == "hello"
    assert join_route("/language/", "authoring/x") == "language/authoring/x"
