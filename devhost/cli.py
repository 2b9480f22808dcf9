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


QUIET_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy", "azure", "aiohttp.access")
"""The Azure SDKs log every HTTP request (with headers) at INFO: thousands of lines per run."""
ADOPT_AZURITE_ENV = "DEVHOST_ADOPT_AZURITE"


def configure_logging(level: str = "INFO", *, verbose: bool = False) -> None:
    """``time LEVEL [function] logger: message`` lines on stderr; SDK HTTP logging only when ``verbose``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)-7s [%(function)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.NOTSET if verbose else logging.WARNING)


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
    start.add_argument("--verbose", action="store_true", help="also log every Azure SDK HTTP request")
    start.add_argument(
        "--adopt-azurite", action="store_true",
        help=f"use an Azurite already listening on 10000-10002 that this host did not start (or {ADOPT_AZURITE_ENV}=1)",
    )  # fmt: skip
    return parser


def _uses_default_azurite(connection: str) -> bool:
    text = connection.replace(" ", "").lower()
    return text.startswith("usedevelopmentstorage=true") or "127.0.0.1:10000" in text or "localhost:10000" in text


def azurite_plan(*, no_azurite: bool, connection: str, running: bool, adopt: bool) -> str:
    """What to do about Azurite: ``"none"`` (not ours to manage), ``"start"``, ``"adopt"`` or ``"refuse"``.

    An Azurite already listening that this host did not start is often one a killed run left behind
    (with data of who knows which run): it is used only when the user says so.
    """
    if no_azurite or not _uses_default_azurite(connection):
        return "none"
    if not running:
        return "start"
    return "adopt" if adopt else "refuse"


def _refusal(app_dir: Path) -> str:
    leftover = azurite_module.recorded_azurite_pid(app_dir / ".azurite")
    origin = (
        f"it looks like the one an earlier run started (pid {leftover}; stop it with `kill -INT {leftover}`)"
        if leftover is not None
        else "this host did not start it"
    )
    return (
        f"a storage emulator is already listening on ports 10000-10002 and {origin}. Stop it, or use it "
        f"anyway with --adopt-azurite (or {ADOPT_AZURITE_ENV}=1)."
    )


async def _serve(args: argparse.Namespace) -> int:
    from devhost.host import Host

    app_dir: Path = args.app_dir.resolve()
    values, _ = host_settings.read_local_settings(app_dir)
    host_settings.apply_settings(values)
    started_azurite: azurite_module.Azurite | None = None
    connection = os.environ.get(host_settings.DEFAULT_STORAGE_SETTING, "")
    plan = azurite_plan(
        no_azurite=args.no_azurite,
        connection=connection,
        running=azurite_module.default_azurite_running(),
        adopt=args.adopt_azurite or os.environ.get(ADOPT_AZURITE_ENV, "") in ("1", "true", "yes"),
    )
    if plan == "refuse":
        raise RuntimeError(_refusal(app_dir))
    if plan == "adopt":
        logger.warning("Using the Azurite already listening on ports 10000-10002 (not started here; left running)")
    if plan == "start":
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
    configure_logging(args.log_level, verbose=getattr(args, "verbose", False))
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
