"""Property-based fuzzing of every route of the app, through the local host (issue 10).

The routes come from the app itself (``functions.fallback_api.known_routes``: every HTTP function
registered before the catch-all), so a new route module is fuzzed without a change here. For each
route and method, hypothesis generates requests: path parameters (the seeded project's real names,
Azure-valid names, hostile text), query strings, keys, and bodies (JSON of any shape, bodies shaped
like the route's real body with wrong values, a mutated real project file, raw bytes); plus requests
with wrong methods and unknown paths under ``/language/``.

Every response must be below 500, and every 4xx Azure's error JSON with a matching ``x-ms-error-code``;
every JSON answer (by content type) must be strict JSON (no NaN). At the end no job of any kind is left ``notStarted``,
``running`` or ``cancelling``. The number of examples is bounded (``FUZZ_EXAMPLES`` per route, default
25; the whole module takes about 2 minutes on 2 cores); ``FUZZ_SEED`` picks another deterministic run.
The figures of the last run go to stdout (``pytest -s``) and RELIABILITY.md records them.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests
from azure.data.tables import TableServiceClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import function_app  # noqa: F401 - registers every route, then the catch-all that learns them
from devhost.azurite import Azurite
from functions.fallback_api import known_routes
from tests.e2e.conftest import API_VERSION, KEY, Api, HostNames, HostProcess, imported_sample

pytestmark = [pytest.mark.fuzz, pytest.mark.e2e, pytest.mark.integration]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
TERMINAL = {"succeeded", "failed", "cancelled", "partiallyCompleted"}
SETTLE_TIMEOUT = 240.0
"""Seconds the jobs the fuzzer started get to end (tiny training budget; never asserted as a duration)."""

FIGURES: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
# Deletions last, so the routes before them also meet the seeded project (and its jobs) alive.
ROUTES = sorted(
    ((template, method) for template, methods in known_routes() for method in methods),
    key=lambda route: (route[1] == "DELETE", route[0], route[1]),
)

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:
    return host_factory(names, workers=1, NER_TRAIN_MAX_STEPS="10", NER_TRAIN_EVAL_FREQUENCY="5")


@pytest.fixture(scope="module")
def seeded(host: HostProcess, azurite: Azurite, names: HostNames) -> dict[str, Any]:
    """One imported project the fuzzer's valid names point at (and may train, export or delete)."""
    api = Api(host.endpoint)
    project = f"{names.tag}-fz"
    project_file = imported_sample(api, azurite.connection_string, project, documents=12)
    return {"api": api, "project": project, "file": project_file, "container": f"{project}-docs"}


# ----------------------------------------------------------------------------------------- strategies

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4),
    max_leaves=20,
)
valid_names = st.from_regex(r"\A[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,48}[A-Za-z0-9_\-]\Z")
hostile_text = st.one_of(
    st.sampled_from([".", "..", "...", "a.", "global", "%2e%2e", "a/b", "x" * 51, "x" * 1000, "", " ", "\u00e4",
                     "'", "\"", "a'b", "PartitionKey eq 'x'", "\x00", "%", "{projectName}", "😀"]),
    st.text(max_size=60),
)
bodies_by_key = {
    "modelLabel": st.one_of(valid_names, hostile_text, json_values),
    "trainingConfigVersion": st.one_of(st.sampled_from(["latest", "2022-05-01", "2026-11-29", "2026-11-29.1"]), json_values),
    "evaluationOptions": st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "kind": st.sampled_from(["percentage", "manual", "Percentage", "random"]) | json_values,
                "trainingSplitPercentage": st.integers(-5, 105) | json_values,
                "testingSplitPercentage": st.integers(-5, 105) | json_values,
            },
        ),
        json_values,
    ),
    "projectKind": st.sampled_from(["CustomEntityRecognition", "customentityrecognition", "Other"]) | json_values,
    "language": st.sampled_from(["en", "en-us", "de", "xx-yy"]) | json_values,
    "storageInputContainerName": st.one_of(valid_names, hostile_text, json_values),
    "settings": json_values,
    "multilingual": json_values,
    "description": json_values,
    "projectName": st.one_of(valid_names, hostile_text),
}
shaped_bodies = st.fixed_dictionaries({}, optional=bodies_by_key)


def mutated_project_file(data: st.DataObject, project_file: dict[str, Any]) -> Any:
    """The seeded project file with a few values replaced by generated ones (a "nearly valid" import)."""
    mutated = copy.deepcopy(project_file)
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        node: Any = mutated
        path = []
        while isinstance(node, (dict, list)) and node and data.draw(st.booleans(), label="descend"):
            key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))), label="key")
            path.append(key)
            if not isinstance(node[key], (dict, list)):
                break
            node = node[key]
        if isinstance(node, (dict, list)) and node:
            key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))), label="at")
            node[key] = data.draw(json_values, label="value")
    return mutated


def real_body(template: str, seeded: dict[str, Any]) -> Any:
    """A valid body for the route (so some requests get past validation and start real work)."""
    if template.endswith(":train"):
        return {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    if template.endswith(":import"):
        return seeded["file"]
    return {"projectKind": "CustomEntityRecognition", "language": "en-us",
            "storageInputContainerName": seeded["container"], "description": "fuzzed"}


def draw_body(data: st.DataObject, template: str, seeded: dict[str, Any]) -> tuple[bytes, str]:
    project_file = seeded["file"]
    # hypothesis leans to the first choices (its "simplest"): the valid ones come first throughout.
    kind = data.draw(st.sampled_from(["real", "shaped", "none", "json", "project-file", "raw", "nan"]), label="body kind")
    if kind == "none":
        return b"", kind
    if kind == "real":
        return json.dumps(real_body(template, seeded)).encode(), kind
    if kind == "shaped":
        return json.dumps(data.draw(shaped_bodies, label="body")).encode(), kind
    if kind == "json":
        return json.dumps(data.draw(json_values, label="body")).encode(), kind
    if kind == "project-file":
        return json.dumps(mutated_project_file(data, project_file)).encode(), kind
    if kind == "nan":
        return b'{"modelLabel": "m", "settings": {"x": NaN}, "evaluationOptions": {"trainingSplitPercentage": Infinity}}', kind
    return data.draw(st.binary(max_size=200), label="raw body"), kind


def segment_of(value: str) -> str:
    """``value`` as one path segment; dot segments are percent-encoded, or the client would resolve them."""
    encoded = quote(value, safe="") or "x"
    return encoded.replace(".", "%2E") if set(encoded) == {"."} else encoded


def draw_path(data: st.DataObject, template: str, seeded: dict[str, Any]) -> str:
    real = {"projectName": seeded["project"], "trainedModelLabel": "m1", "jobId": "0" * 8 + "_1", "deploymentName": "prod"}
    segments = []
    for segment in template.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment.strip("{}*?").split(":")[0]
            known = st.just(real.get(name, "x"))
            value = data.draw(st.one_of(known, known, valid_names, hostile_text), label=name)
            segments.append(segment_of(value))
        else:
            segments.append(segment)
    return "/".join(segments)


def draw_query(data: st.DataObject) -> str:
    params: dict[str, str] = {}
    versions = [API_VERSION] * 4 + ["2022-05-01", "2025-05-15-preview", "1999-01-01", None]
    version = data.draw(st.sampled_from(versions), label="api-version")
    if version is not None:
        params["api-version"] = version
    for name in ("top", "skip", "maxpagesize", "stringIndexType", "trainedModelLabel", "projectKind", "format"):
        if data.draw(st.integers(0, 5), label=f"has {name}") == 5:
            params[name] = data.draw(st.one_of(st.integers(-3, 100).map(str), hostile_text, valid_names), label=name)
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())


def draw_key(data: st.DataObject) -> bytes | None:
    choice = data.draw(st.integers(0, 9), label="key kind")
    if choice == 8:
        return None
    if choice == 9:
        # Any bytes a header value may hold (RFC 9110 field-vchar, SP, obs-text); control characters are
        # refused by the HTTP server itself before the app sees the request.
        octets = st.integers(0x20, 0x7E) | st.integers(0x80, 0xFF)
        return bytes(data.draw(st.lists(octets, min_size=1, max_size=40), label="key")).strip() or b"k"
    return KEY.encode()


# ---------------------------------------------------------------------------------------------- checks


def send(api: Api, method: str, path: str, query: str, body: bytes, key: bytes | None, content_type: str | None) -> requests.Response:
    headers: dict[str, Any] = {}
    if key is not None:
        headers["Ocp-Apim-Subscription-Key"] = key
    if content_type is not None:
        headers["Content-Type"] = content_type
    url = f"{api.endpoint}/language/{path}" + (f"?{query}" if query else "")
    return api.session.request(method, url, data=body, headers=headers, timeout=120)


def check(response: requests.Response, what: str) -> None:
    FIGURES["requests"] += 1
    FIGURES[f"{response.status_code // 100}xx"] += 1
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, f"{what} -> {response.status_code}: {response.text[:500]}"
    text = response.content
    if response.status_code >= 400:
        body = json.loads(text, parse_constant=_no_constants)
        assert set(body) == {"error"}, f"{what}: {body}"
        error = body["error"]
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str) and error["message"], error
        assert response.headers.get("x-ms-error-code") == error["code"], (what, response.headers)
        assert len(text) < 200_000, f"{what}: error body of {len(text)} bytes"
    elif "json" in response.headers.get("content-type", "") and text.strip():
        json.loads(text, parse_constant=_no_constants)  # other answers (the studio's pages, files) are not JSON


def _no_constants(name: str) -> Any:
    raise AssertionError(f"the response is not strict JSON: it contains {name}")


# ----------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize(("template", "method"), ROUTES, ids=[f"{m} {t}" for t, m in ROUTES])
def test_no_route_answers_5xx_or_leaves_azures_error_shape(seeded: dict[str, Any], template: str, method: str) -> None:
    @seed(SEED)
    @fuzz_settings
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        path = draw_path(data, template, seeded)
        query = draw_query(data)
        body, kind = draw_body(data, template, seeded) if method in ("POST", "PATCH", "PUT") else (b"", "none")
        key = draw_key(data)
        content_type = data.draw(st.sampled_from(["application/json", None, "application/merge-patch+json"]), label="ct")
        response = send(seeded["api"], method, path, query, body, key, content_type)
        check(response, f"{method} /language/{path}?{query} ({kind} body of {len(body)} bytes)")

    fuzz()


def test_wrong_methods_and_unknown_paths_answer_azure_json(seeded: dict[str, Any]) -> None:
    templates = sorted({template for template, _ in ROUTES})

    @seed(SEED)
    @fuzz_settings
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        method = data.draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]), label="method")
        if data.draw(st.booleans(), label="known template"):
            path = draw_path(data, data.draw(st.sampled_from(templates), label="template"), seeded)
        else:
            segments = data.draw(st.lists(st.one_of(valid_names, hostile_text), min_size=1, max_size=8), label="segments")
            path = "/".join(segment_of(segment) for segment in segments)
        response = send(seeded["api"], method, path, f"api-version={API_VERSION}", b"{}", KEY.encode(), "application/json")
        check(response, f"{method} /language/{path}")

    fuzz()


def test_no_job_is_left_active_after_the_fuzzing(seeded: dict[str, Any], azurite: Azurite, names: HostNames) -> None:
    """Every job the fuzzer started (imports, exports, deletions, training) ends, and none is stuck."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)

    def active_jobs() -> list[str]:
        stuck = []
        for table in (f"{names.tag}Jobs", f"{names.tag}Operations"):
            try:
                rows = list(service.get_table_client(table).list_entities())
            except Exception:  # noqa: BLE001 - a table the run never created holds no job
                continue
            stuck += [f"{table}/{row['PartitionKey']}/{row['RowKey']}: {row.get('status')}" for row in rows
                      if row.get("status") not in TERMINAL]
        return stuck

    deadline = time.monotonic() + SETTLE_TIMEOUT
    remaining = active_jobs()
    while remaining and time.monotonic() < deadline:
        time.sleep(2)
        remaining = active_jobs()
    jobs = 0
    for table in (f"{names.tag}Jobs", f"{names.tag}Operations"):
        try:
            jobs += len(list(service.get_table_client(table).list_entities()))
        except Exception:  # noqa: BLE001
            pass
    FIGURES["jobs started"] = jobs
    print(f"\nfuzz figures (seed {SEED}, {EXAMPLES} examples per route, {len(ROUTES)} routes): {dict(FIGURES)}; "
          f"by status: {dict(sorted(STATUSES.items()))}")
    assert remaining == [], remaining
    assert FIGURES["5xx"] == 0
