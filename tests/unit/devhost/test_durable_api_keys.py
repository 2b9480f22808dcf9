"""The Durable HTTP API behind the system key (issue 10 #2), and no internals in what it shows.

The aiohttp app is the one the host serves (devhost.durable.api over an engine on MemoryStore); the
engine is not started, so no worker process is needed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devhost.durable import api as durable_api
from devhost.durable.engine import DurableEngine
from devhost.durable.payloads import DurableUrls
from devhost.durable.store import InstanceRecord, MemoryStore
from devhost.indexer import load_app
from devhost.keys import KEYS_FILE, SYSTEM_KEY_SETTING, key_matches, system_key

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "durable_app"
KEY = "s3cret-system-key"
BASE = "/runtime/webhooks/durabletask"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

TRACEBACK_OUTPUT = (
    "Orchestrator function 'train' failed: Activity function 'x' failed: ValueError: bad label\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/app/shared/service/pipeline.py", line 12, in run\n'
    "    raise ValueError('bad label')\n"
    "ValueError: bad label"
)


def run_with_client(check: Callable[[TestClient[Any, Any], MemoryStore], Awaitable[None]]) -> None:
    async def go() -> None:
        store = MemoryStore()
        engine = DurableEngine(load_app(APP_DIR), store, worker_count=1)
        urls = DurableUrls("http://127.0.0.1:7071", engine.hub_name, key=KEY)
        app = web.Application()
        durable_api.add_routes(app, engine, urls, key=KEY)
        async with TestClient(TestServer(app)) as client:
            await check(client, store)

    asyncio.run(go())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/instances"),
        ("GET", "/instances/some-id"),
        ("DELETE", "/instances/some-id"),
        ("DELETE", "/instances?createdTimeFrom=2020-01-01T00:00:00Z"),
        ("POST", "/orchestrators/sequence"),
        ("POST", "/instances/some-id/terminate"),
        ("POST", "/instances/some-id/raiseEvent/go"),
    ],
)
def test_anonymous_and_wrong_keys_get_401(method: str, path: str) -> None:
    async def check(client: TestClient[Any, Any], store: MemoryStore) -> None:
        for query, headers in [
            ("", {}),
            ("code=wrong", {}),
            ("code=%C3%A9t%C3%A9", {}),  # non-ASCII: not the key, not a 500
            ("", {"x-functions-key": "wrong"}),
        ]:
            joiner = "&" if "?" in path else "?"
            response = await client.request(method, BASE + path + (joiner + query if query else ""), headers=headers)
            assert response.status == 401, (method, path, query, headers)
            assert await response.text() == ""
        assert store.query_instances() == []  # nothing was started

    run_with_client(check)


def test_the_key_opens_the_api_as_code_or_header() -> None:
    async def check(client: TestClient[Any, Any], store: MemoryStore) -> None:
        assert (await client.get(f"{BASE}/instances?code={KEY}")).status == 200
        assert (await client.get(f"{BASE}/instances", headers={"x-functions-key": KEY})).status == 200
        assert (await client.get(f"{BASE}/instances/missing?code={KEY}")).status == 404

    run_with_client(check)


def test_failed_instance_output_shows_no_traceback_or_path() -> None:
    async def check(client: TestClient[Any, Any], store: MemoryStore) -> None:
        store.put_instance(InstanceRecord(
            instance_id="failed-1", name="sequence", version="", execution_id="e", runtime_status="Failed",
            created_time=T0, last_updated_time=T0, output=json.dumps(TRACEBACK_OUTPUT),
            custom_status=json.dumps({"error": TRACEBACK_OUTPUT}),
        ))
        for path in (f"{BASE}/instances/failed-1?code={KEY}", f"{BASE}/instances?code={KEY}"):
            text = await (await client.get(path)).text()
            assert "bad label" in text
            assert "Traceback" not in text and "/srv/app" not in text and "pipeline.py" not in text

    run_with_client(check)


def test_management_urls_carry_the_key() -> None:
    urls = DurableUrls("http://127.0.0.1:7071", "Hub", key=KEY, rpc_base_url="http://127.0.0.1:17071/durabletask/")
    for name, url in urls.management_urls("abc").items():
        if name != "id":
            assert f"code={KEY}" in url, name
    binding = json.loads(urls.client_binding_json())
    assert binding["requiredQueryStringParameters"] == f"code={KEY}"
    assert binding["rpcBaseUrl"] == "http://127.0.0.1:17071/durabletask/"
    assert f"code={KEY}" in binding["creationUrls"]["createNewInstancePostUri"]


def test_system_key_from_setting_else_generated_once_and_kept(tmp_path: Path) -> None:
    assert system_key(tmp_path, {SYSTEM_KEY_SETTING: "chosen"}) == "chosen"
    assert not (tmp_path / KEYS_FILE).exists()
    generated = system_key(tmp_path, {})
    assert len(generated) >= 32
    kept = tmp_path / KEYS_FILE
    assert json.loads(kept.read_text())["systemKeys"]["durabletask_extension"] == generated
    assert kept.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert system_key(tmp_path, {SYSTEM_KEY_SETTING: ""}) == generated


def test_key_matches_is_exact() -> None:
    assert key_matches(KEY, KEY)
    assert not key_matches(None, KEY) and not key_matches("", KEY)
    assert not key_matches(KEY + "x", KEY) and not key_matches("été", KEY)
