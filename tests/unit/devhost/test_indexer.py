"""The indexer imports apps like the Python worker and applies the worker's load checks."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from devhost.indexer import AppLoadError, FunctionLoadError, load_app

BASIC_APP = Path(__file__).resolve().parents[2] / "apps" / "basic_app"

HEADER = "import azure.functions as func\nimport azure.durable_functions as df\n"


def write_app(folder: Path, body: str, *, host: dict | None = None, settings: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "function_app.py").write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    if host is not None:
        (folder / "host.json").write_text(json.dumps(host), encoding="utf-8")
    if settings is not None:
        (folder / "local.settings.json").write_text(json.dumps({"Values": settings}), encoding="utf-8")
    return folder


def test_basic_app_functions_triggers_and_bindings() -> None:
    app = load_app(BASIC_APP)
    assert app.route_prefix == "api"
    assert app.hub_name == "TestHubName"
    hello = app.functions["hello"]
    assert hello.trigger_type == "httpTrigger"
    assert hello.trigger.route == "hello/{name}"
    assert hello.is_async is False
    item = app.functions["item_by_id"]
    assert item.is_async is True and item.requires_context is True
    on_message = app.functions["on_message"]
    assert on_message.trigger_type == "queueTrigger"
    assert sorted(b.name for b in on_message.output_bindings()) == ["out", "saved"]
    assert [b.name for b in app.functions["read_file"].input_bindings()] == ["content"]
    assert [f.name for f in app.by_trigger("timerTrigger")] == ["tick"]


def test_local_settings_fill_environment_without_overriding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVHOST_KEEP", "from-shell")
    monkeypatch.delenv("DEVHOST_NEW", raising=False)
    folder = write_app(
        tmp_path / "app",
        """
        app = func.FunctionApp()

        @app.route(route="x")
        def x(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("x")
        """,
        settings={"DEVHOST_KEEP": "from-file", "DEVHOST_NEW": "from-file", "HUB": "MyHub"},
        host={"extensions": {"http": {"routePrefix": "/language/"}, "durableTask": {"hubName": "%HUB%"}}},
    )
    app = load_app(folder)
    assert os.environ["DEVHOST_KEEP"] == "from-shell"
    assert os.environ["DEVHOST_NEW"] == "from-file"
    assert app.route_prefix == "language"
    assert app.hub_name == "MyHub"


def test_sample_settings_used_when_local_settings_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEVHOST_SAMPLE_ONLY", raising=False)
    folder = write_app(
        tmp_path / "app",
        """
        app = func.FunctionApp()

        @app.route(route="x")
        def x(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("x")
        """,
    )
    (folder / "local.settings.sample.json").write_text(json.dumps({"Values": {"DEVHOST_SAMPLE_ONLY": "1"}}))
    app = load_app(folder)
    assert os.environ["DEVHOST_SAMPLE_ONLY"] == "1"
    assert app.settings_file is not None and app.settings_file.name == "local.settings.sample.json"


def test_durable_app_lookup_by_orchestrator_and_activity_name(tmp_path: Path) -> None:
    folder = write_app(
        tmp_path / "app",
        """
        app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

        @app.orchestration_trigger(context_name="context")
        def orch(context: df.DurableOrchestrationContext):
            result = yield context.call_activity("double", 2)
            return result

        @app.activity_trigger(input_name="value")
        def double(value: int) -> int:
            return value * 2

        @app.route(route="start")
        @app.durable_client_input(client_name="client")
        async def start(req: func.HttpRequest, client) -> func.HttpResponse:
            return func.HttpResponse("x")
        """,
    )
    app = load_app(folder)
    assert app.orchestrator("orch").trigger_type == "orchestrationTrigger"
    assert app.activity("double").user_function(4) == 8
    assert app.functions["start"].is_async is True
    assert [b.type for b in app.functions["start"].input_bindings()] == ["durableClient"]
    with pytest.raises(LookupError, match="no activityTrigger function named 'missing'"):
        app.activity("missing")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """
            app = func.FunctionApp()

            @app.route(route="x")
            def extra(req: func.HttpRequest, other: str) -> func.HttpResponse:
                return func.HttpResponse("x")
            """,
            r"cannot load the extra function: the following parameters are declared in Python but not in "
            r"the function definition \(function.json or function decorators\): \{'other'\}",
        ),
        (
            """
            app = func.FunctionApp()

            @app.route(route="x")
            @app.blob_input(arg_name="blob", path="c/x.txt", connection="AzureWebJobsStorage")
            def missing(req: func.HttpRequest) -> func.HttpResponse:
                return func.HttpResponse("x")
            """,
            r"cannot load the missing function: the following parameters are declared in the function "
            r"definition \(function.json or function decorators\) but not in Python: \{'blob'\}",
        ),
        (
            """
            app = func.FunctionApp()

            @app.route(route="x")
            def ctx(req: func.HttpRequest, context: str) -> func.HttpResponse:
                return func.HttpResponse("x")
            """,
            r'cannot load the ctx function: the "context" parameter is expected to be of type '
            r"azure.functions.Context",
        ),
        (
            """
            app = func.FunctionApp()

            @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
            @app.queue_output(arg_name="out", queue_name="o", connection="AzureWebJobsStorage")
            def notout(msg: func.QueueMessage, out: str) -> None:
                pass
            """,
            r'cannot load the notout function: binding out is declared to have the "out" direction',
        ),
        (
            """
            app = func.FunctionApp()

            @app.route(route="x")
            @app.blob_input(arg_name="blob", path="c/x.txt", connection="AzureWebJobsStorage")
            def union(req: func.HttpRequest, blob: str | None) -> func.HttpResponse:
                return func.HttpResponse("x")
            """,
            r"cannot load the union function: binding blob has invalid non-type annotation",
        ),
        (
            """
            from typing import Any

            app = df.DFApp()

            @app.activity_trigger(input_name="payload")
            def builtin_generic(payload: dict[str, Any]) -> dict:
                return payload
            """,
            # The real worker's words (azure-functions-runtime 1.3 under Python 3.13, same test app).
            r"^cannot load the builtin_generic function: binding payload has invalid non-type annotation "
            r"dict\[str, typing.Any\]$",
        ),
        (
            """
            import typing

            app = df.DFApp()

            @app.activity_trigger(input_name="pair")
            def typing_tuple(pair: typing.Tuple[int, str]) -> dict:
                return {}
            """,
            r"^cannot load the typing_tuple function: binding pair has invalid non-type annotation "
            r"typing.Tuple\[int, str\]$",
        ),
        (
            """
            from typing import Any

            app = func.FunctionApp()

            @app.route(route="x")
            def generic_return(req: func.HttpRequest) -> dict[str, Any]:
                return {}
            """,
            r"^cannot load the generic_return function: has invalid non-type return annotation "
            r"dict\[str, typing.Any\]$",
        ),
    ],
    ids=[
        "extra-param", "missing-param", "bad-context", "out-not-annotated-out", "union-annotation",
        "builtin-generic-param", "typing-tuple-param", "generic-return",
    ],
)
def test_worker_parameter_checks(tmp_path: Path, body: str, message: str) -> None:
    folder = write_app(tmp_path / "app", body)
    with pytest.raises(FunctionLoadError, match=message):
        load_app(folder)


def test_annotations_the_worker_accepts_load(tmp_path: Path) -> None:
    # typing's own generic aliases pass the worker's check, and an activity's return is not checked.
    folder = write_app(
        tmp_path / "app",
        """
        import typing
        from typing import Any

        app = df.DFApp()

        @app.activity_trigger(input_name="payload")
        def typing_dict(payload: typing.Dict[str, Any]) -> dict[str, Any]:
            return payload

        @app.activity_trigger(input_name="items")
        def typing_list(items: typing.List[str]) -> list[str]:
            return items

        @app.activity_trigger(input_name="payload")
        def plain_dict(payload: dict) -> dict:
            return payload

        @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        @app.queue_output(arg_name="out", queue_name="o", connection="AzureWebJobsStorage")
        def forward(msg: func.QueueMessage, out: func.Out[str]) -> None:
            out.set(msg.get_body().decode())
        """,
    )
    assert sorted(load_app(folder).functions) == ["forward", "plain_dict", "typing_dict", "typing_list"]


def test_context_parameter_is_accepted_and_flagged(tmp_path: Path) -> None:
    folder = write_app(
        tmp_path / "app",
        """
        app = func.FunctionApp()

        @app.route(route="x")
        def withctx(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            return func.HttpResponse("x")
        """,
    )
    assert load_app(folder).functions["withctx"].requires_context is True


def test_duplicate_function_names_fail(tmp_path: Path) -> None:
    folder = write_app(
        tmp_path / "app",
        """
        app = func.FunctionApp()

        @app.function_name("same")
        @app.route(route="a")
        def a(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("a")

        @app.function_name("same")
        @app.route(route="b")
        def b(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("b")
        """,
    )
    with pytest.raises(AppLoadError, match="Function same does not have a unique function name"):
        load_app(folder)


def test_two_app_instances_fail(tmp_path: Path) -> None:
    folder = write_app(tmp_path / "app", "app = func.FunctionApp()\nother = df.DFApp()\n")
    with pytest.raises(AppLoadError, match="More than one .* top level function app instances"):
        load_app(folder)


def test_no_app_instance_fails(tmp_path: Path) -> None:
    folder = write_app(tmp_path / "app", "x = 1\n")
    with pytest.raises(AppLoadError, match="Could not find top level function app instances"):
        load_app(folder)


def test_import_error_is_reported_with_cause(tmp_path: Path) -> None:
    folder = write_app(tmp_path / "app", "import does_not_exist_anywhere\napp = func.FunctionApp()\n")
    with pytest.raises(AppLoadError, match="importing function_app.py failed: ModuleNotFoundError"):
        load_app(folder)


def test_app_dir_goes_first_on_sys_path(tmp_path: Path) -> None:
    folder = write_app(
        tmp_path / "app",
        """
        from helpers_for_devhost_test import ROUTE

        app = func.FunctionApp()

        @app.route(route=ROUTE)
        def x(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("x")
        """,
    )
    (folder / "helpers_for_devhost_test.py").write_text("ROUTE = 'from-helper'\n")
    assert load_app(folder).functions["x"].trigger.route == "from-helper"


def test_missing_function_app_file(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match="function_app.py does not exist"):
        load_app(tmp_path)
