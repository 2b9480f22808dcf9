"""``python -m devhost start``: run the function app locally (a stand-in for ``func start``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from devhost import azurite as azurite_module
from devhost import settings as host_settings
from devhost.invoker import current_function, current_invocation

logger = logging.getLogger("devhost")


class _ContextFilter(logging.Filter):
    """Adds the running function's name and invocation id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.function = current_function.get()
        record.invocation = current_invocation.get()
        return True


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{base}.{int(record.msecs):03d}Z"


def configure_logging(level: str = "INFO") -> None:
    """``time LEVEL [function] logger: message`` lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)-7s [%(function)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The storage SDKs log every request at INFO.
    for noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost", description="Local host for this Functions app")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="run the app (like `func start`)")
    start.add_argument("--port", type=int, default=7071, help="HTTP port (default 7071)")
    start.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    start.add_argument("--app-dir", type=Path, default=Path("."), help="folder holding function_app.py")
    start.add_argument(
        "--workers", type=int, default=None,
        help="activity worker processes (default FUNCTIONS_WORKER_PROCESS_COUNT or 2)",
    )
    start.add_argument("--no-azurite", action="store_true", help="never start Azurite")
    start.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    return parser


def _uses_default_azurite(connection: str) -> bool:
    text = connection.replace(" ", "").lower()
    return text.startswith("usedevelopmentstorage=true") or "127.0.0.1:10000" in text or "localhost:10000" in text


async def _serve(args: argparse.Namespace) -> int:
    from devhost.host import Host

    app_dir: Path = args.app_dir.resolve()
    values, _ = host_settings.read_local_settings(app_dir)
    host_settings.apply_settings(values)
    started_azurite: azurite_module.Azurite | None = None
    connection = os.environ.get(host_settings.DEFAULT_STORAGE_SETTING, "")
    if not args.no_azurite and _uses_default_azurite(connection) and not azurite_module.default_azurite_running():
        logger.info("Starting Azurite (data in %s)", app_dir / ".azurite")
        started_azurite = azurite_module.start_azurite(
            app_dir, default_ports=True, location=app_dir / ".azurite"
        )
    workers = args.workers or int(os.environ.get("FUNCTIONS_WORKER_PROCESS_COUNT") or 2)
    host = None
    try:
        host = Host(app_dir, port=args.port, workers=workers, listen_host=args.host)
        await host.start()
        sys.stdout.write("\nFunctions:\n\n")
        for line in host.describe():
            sys.stdout.write(f"\t{line}\n")
        sys.stdout.write(f"\nHost started on http://{args.host}:{host.port} (Ctrl+C to stop)\n\n")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        logger.info("Stopping the host")
        return 0
    finally:
        if host is not None:
            await host.stop()
        if started_azurite is not None:
            started_azurite.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m devhost``."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.command == "start":
        try:
            return asyncio.run(_serve(args))
        except KeyboardInterrupt:
            return 130
        except Exception as exc:  # noqa: BLE001 - a readable failure is the point of a CLI
            from devhost.indexer import AppLoadError

            if isinstance(exc, AppLoadError) and exc.__cause__ is not None:
                # The user's own import error: show where in their code it happened.
                traceback.print_exception(exc.__cause__, file=sys.stderr)
            else:
                logger.debug("Startup failed", exc_info=True)
            print(f"devhost: {exc}", file=sys.stderr)
            return 1
    return 2
