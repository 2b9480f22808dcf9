"""The Durable Functions HTTP API (``/runtime/webhooks/durabletask/...``), served by aiohttp.

The same routes are the client's ``rpcBaseUrl``. Status codes follow the extension's HttpApiHandler
as the Python client reads them: start 202 (400 ``{"ExceptionMessage"}`` for an unknown orchestrator
or an id that is still running), status 200 done / 202 running / 404 unknown (empty body), terminate
and friends 202 / 404 / 410, purge 200 ``{"instancesDeleted": n}`` / 404 when nothing was deleted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from devhost.durable import history as h
from devhost.durable.engine import DurableEngine
from devhost.durable.errors import InstanceExists, InstanceGone, InstanceNotFound, OrchestratorNotFound
from devhost.durable.history import EventType
from devhost.durable.payloads import WEBHOOK_PATH, DurableUrls
from devhost.durable.store import ALL_STATUSES, FAILED, TERMINAL_STATUSES, InstanceRecord
from devhost.keys import key_matches
from devhost.redact import redact_text, redact_value

PREFIX = WEBHOOK_PATH
CONTINUATION_HEADER = "x-ms-continuation-token"
KEY_HEADER = "x-functions-key"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def format_time(moment: datetime | None) -> str | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` as in StatusResponsePayload."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_json_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_input_body(body: str) -> str | None:
    """The orchestration input as JSON text.

    The Python client posts ``json=df_dumps(input)``: a JSON string holding JSON (double-encoded).
    Other clients post the JSON value itself. Both yield the JSON text of the value.

    Raises:
        ValueError: the body is not JSON.
    """
    if not body.strip():
        return None
    value = json.loads(body)
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            return json.dumps(value)
    return json.dumps(value)


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true"


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return h.parse_timestamp(value)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"ExceptionMessage": f"{name}: {exc}"}),
                                 content_type="application/json") from exc


def _statuses(request: web.Request) -> list[str] | None:
    raw = request.query.get("runtimeStatus")
    if not raw:
        return None
    wanted = []
    by_lower = {s.lower(): s for s in ALL_STATUSES}
    for part in raw.split(","):
        name = by_lower.get(part.strip().lower())
        if name is None:
            raise web.HTTPBadRequest(text=json.dumps({"ExceptionMessage": f"runtimeStatus: unknown status '{part}'"}),
                                     content_type="application/json")
        wanted.append(name)
    return wanted


def _history_payload(events: list[dict[str, Any]], show_output: bool) -> list[dict[str, Any]]:
    """History as the extension shows it: names instead of numbers, scheduling folded into completions."""
    scheduled: dict[int, dict[str, Any]] = {}
    shown: list[dict[str, Any]] = []
    for event in events:
        kind = EventType(event["EventType"])
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            continue
        if kind in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED, EventType.TIMER_CREATED):
            scheduled[int(event["EventId"])] = event
            if kind != EventType.TIMER_CREATED:
                continue
        item: dict[str, Any] = {"EventType": kind.name.title().replace("_", ""), "Timestamp": event["Timestamp"]}
        if kind == EventType.SUB_ORCHESTRATION_CREATED or kind == EventType.SUB_ORCHESTRATION_COMPLETED:
            item["EventType"] = "SubOrchestrationInstanceCompleted"
        elif kind == EventType.SUB_ORCHESTRATION_FAILED:
            item["EventType"] = "SubOrchestrationInstanceFailed"
        if kind == EventType.EXECUTION_STARTED:
            item["FunctionName"] = event.get("Name")
            if show_output:
                item["Input"] = _parse_json_text(event.get("Input"))
        elif "TaskScheduledId" in event:
            source = scheduled.get(int(event["TaskScheduledId"]), {})
            item["FunctionName"] = source.get("Name")
            item["ScheduledTime"] = source.get("Timestamp")
            if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
                # Details hold the activity's traceback: kept in the history and the log, not shown.
                item["Reason"] = redact_text(str(event.get("Reason") or ""))
                item["Details"] = None
            elif show_output:
                item["Result"] = _parse_json_text(event.get("Result"))
        elif kind in (EventType.TIMER_CREATED, EventType.TIMER_FIRED):
            item["FireAt"] = event.get("FireAt")
        elif kind == EventType.EVENT_RAISED:
            item["Name"] = event.get("Name")
            if show_output:
                item["Input"] = _parse_json_text(event.get("Input"))
        elif kind == EventType.EXECUTION_COMPLETED:
            item["OrchestrationStatus"] = h.OrchestrationStatus(event["OrchestrationStatus"]).name.title().replace(
                "_", "")
            if show_output:
                item["Result"] = redact_value(_parse_json_text(event.get("Result")))
        elif kind == EventType.EXECUTION_TERMINATED:
            item["Input"] = event.get("Input")
        shown.append(item)
    return shown


def status_payload(record: InstanceRecord, *, show_input: bool = True) -> dict[str, Any]:
    """StatusResponsePayload for one instance (a failed one's output and custom status without internals)."""
    output, custom = _parse_json_text(record.output), _parse_json_text(record.custom_status)
    if record.runtime_status == FAILED:
        output, custom = redact_value(output), redact_value(custom)
    return {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": record.runtime_status,
        "input": _parse_json_text(record.input) if show_input else None,
        "customStatus": custom,
        "output": output,
        "createdTime": format_time(record.created_time),
        "lastUpdatedTime": format_time(record.last_updated_time),
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"ExceptionMessage": message, "Message": message}, status=status)


def require_key(handler: Handler, key: str) -> Handler:
    """``handler`` behind the system key (``code=`` or ``x-functions-key``); 401 without it, as on Azure."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not (key_matches(request.query.get("code"), key) or key_matches(request.headers.get(KEY_HEADER), key)):
            return web.Response(status=401)
        return await handler(request)

    return guarded


def add_routes(
    web_app: web.Application, engine: DurableEngine, urls: DurableUrls, *, prefix: str = PREFIX,
    key: str | None = None,
) -> None:
    """Register the API routes for ``engine`` on ``web_app`` under ``prefix``; ``urls`` builds the
    management payloads. With ``key`` every route requires it (the public webhooks); without, none
    does (the loopback RPC listener the SDK's client calls)."""

    def accepted(instance_id: str) -> web.Response:
        payload = urls.management_urls(instance_id)
        return web.json_response(
            payload, status=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        )

    async def start(request: web.Request) -> web.Response:
        name = request.match_info["function_name"]
        instance_id = request.match_info.get("instance_id") or None
        try:
            input_text = parse_input_body(await request.text())
        except ValueError:
            return _error(400, "The request content is not valid JSON.")
        try:
            instance_id = await engine.start_new(
                name, instance_id, input_text, version=request.query.get("version", "")
            )
        except (OrchestratorNotFound, InstanceExists) as exc:
            return _error(400, str(exc))
        return accepted(instance_id)

    async def get_status(request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        record = await engine.get_instance(instance_id)
        if record is None:
            return web.Response(status=404)
        body = status_payload(record, show_input=_flag(request, "showInput", True))
        if _flag(request, "showHistory", False):
            events = await engine.get_history(instance_id)
            body["historyEvents"] = _history_payload(events, _flag(request, "showHistoryOutput", False))
        status = 200 if record.runtime_status in TERMINAL_STATUSES else 202
        headers = {} if status == 200 else {"Location": urls.management_urls(instance_id)["statusQueryGetUri"],
                                            "Retry-After": "10"}
        return web.json_response(body, status=status, headers=headers)

    async def list_status(request: web.Request) -> web.Response:
        records = await engine.query(
            created_from=_parse_time(request.query.get("createdTimeFrom"), "createdTimeFrom"),
            created_to=_parse_time(request.query.get("createdTimeTo"), "createdTimeTo"),
            statuses=_statuses(request),
            prefix=request.query.get("instanceIdPrefix") or None,
        )
        token = request.headers.get(CONTINUATION_HEADER)
        offset = 0
        if token:
            try:
                offset = int(base64.b64decode(token).decode())
            except ValueError:
                return _error(400, f"{CONTINUATION_HEADER}: invalid continuation token")
        top = request.query.get("top")
        page = records[offset:]
        headers = {}
        if top:
            try:
                size = max(1, int(top))
            except ValueError:
                return _error(400, "top: must be an integer")
            if len(page) > size:
                headers[CONTINUATION_HEADER] = base64.b64encode(str(offset + size).encode()).decode()
            page = page[:size]
        show_input = _flag(request, "showInput", False)
        return web.json_response([status_payload(r, show_input=show_input) for r in page], headers=headers)

    async def purge(request: web.Request) -> web.Response:
        deleted = await engine.purge(request.match_info["instance_id"])
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def purge_by(request: web.Request) -> web.Response:
        created_from = _parse_time(request.query.get("createdTimeFrom"), "createdTimeFrom")
        if created_from is None:
            return _error(400, "createdTimeFrom: a value is required to purge instances by filter")
        deleted = await engine.purge_by(
            created_from=created_from,
            created_to=_parse_time(request.query.get("createdTimeTo"), "createdTimeTo"),
            statuses=_statuses(request),
        )
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def operate(request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        operation = request.match_info["operation"]
        reason = request.query.get("reason")
        try:
            if operation == "terminate":
                await engine.terminate(instance_id, reason)
            elif operation == "suspend":
                await engine.suspend(instance_id, reason)
            elif operation == "resume":
                await engine.resume(instance_id, reason)
            else:
                return _error(501, f"'{operation}' is not supported by the local durable host")
        except InstanceNotFound:
            return web.Response(status=404)
        except InstanceGone:
            return web.Response(status=410)
        return web.Response(status=202)

    async def raise_event(request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        text = await request.text()
        if text.strip():
            try:
                json.loads(text)
            except ValueError:
                return _error(400, "The request content is not valid JSON.")
        try:
            await engine.raise_event(instance_id, request.match_info["event_name"], text if text.strip() else None)
        except InstanceNotFound:
            return web.Response(status=404)
        except InstanceGone:
            return web.Response(status=410)
        return web.Response(status=202)

    async def entities(request: web.Request) -> web.Response:
        return _error(501, "Durable entities are not supported by the local durable host")

    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/orchestrators/{function_name}", start),
        ("POST", "/orchestrators/{function_name}/{instance_id}", start),
        ("GET", "/instances", list_status),
        ("GET", "/instances/", list_status),
        ("DELETE", "/instances", purge_by),
        ("DELETE", "/instances/", purge_by),
        ("GET", "/instances/{instance_id}", get_status),
        ("DELETE", "/instances/{instance_id}", purge),
        ("POST", "/instances/{instance_id}/raiseEvent/{event_name}", raise_event),
        ("POST", "/instances/{instance_id}/{operation}", operate),
        ("*", "/entities/{tail:.*}", entities),
    ]
    for method, path, handler in routes:
        web_app.router.add_route(method, prefix + path, require_key(handler, key) if key else handler)
