"""The ``openline-bridge`` command.

Exit codes: 0 success, 1 an operation failed (message on stderr), 2 bad usage (argparse),
78 the configuration is unusable (``EX_CONFIG`` from sysexits.h).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import uvloop
from redis.asyncio import Redis
from redis.exceptions import RedisError

from openline_bridge.app import create_app
from openline_bridge.errors import BridgeError, ConfigError
from openline_bridge.health import PortalHealth, check_all
from openline_bridge.logging import configure_logging, get_logger
from openline_bridge.server import BridgeServer, server_config
from openline_bridge.services import Services
from openline_bridge.settings import Settings, load_settings
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import current_revision, head_revision, upgrade
from openline_bridge.worker.cli import add_outbox_arguments, outbox_command, worker_command

__all__ = ["EXIT_CONFIG", "EXIT_FAILURE", "main"]

EXIT_FAILURE = 1
EXIT_CONFIG = 78

log = get_logger(__name__)

Command = Callable[[Settings], Coroutine[Any, Any, int]]


async def migrate(settings: Settings) -> int:
    """Apply all pending database migrations."""
    database = Database.connect(settings.resolved_database_url)
    try:
        before = await current_revision(database)
        await upgrade(database)
        after = await current_revision(database)
    finally:
        await database.dispose()
    log.info("database.migrated", from_revision=before, to_revision=after)
    print(f"database at revision {after} (was {before or 'empty'})")
    return 0


async def check(settings: Settings) -> int:
    """Verify configuration, database (reachable, migrated), Redis, then health-check every portal.

    Prints one table row per installed portal; exits 1 if anything, or any portal, is unhealthy.
    """
    problems: list[str] = []
    database = Database.connect(settings.resolved_database_url)
    try:
        revision = await current_revision(database)
    finally:
        await database.dispose()
    if revision != head_revision():
        problems.append(f"database at revision {revision or 'empty'}, not {head_revision()}: run migrate")
    if settings.redis_url is not None:
        try:
            async with Redis.from_url(settings.redis_url) as redis:
                await redis.ping()
        except RedisError as exc:
            problems.append(f"redis unreachable: {exc}")
    for problem in problems:
        print(f"openline-bridge: {problem}", file=sys.stderr)
    if problems:
        return EXIT_FAILURE
    apps = ", ".join(app.client_id for app in settings.apps)
    print(f"configuration ok; public URL {settings.public_url}; apps {apps}; database at {revision}")
    services = Services.build(settings)
    try:
        results = await check_all(services)
    finally:
        await services.close()
    print(_health_table(results))
    return EXIT_FAILURE if any(not result.healthy for result in results) else 0


def _health_table(results: list[PortalHealth]) -> str:
    """One row per portal: member_id, domain, verdict, token, repaired bindings, lines, problems."""
    if not results:
        return "no installed portals"
    header = ("MEMBER_ID", "DOMAIN", "HEALTH", "TOKEN", "BINDINGS", "LINES", "PROBLEMS")
    rows = [header]
    for result in results:
        active = sum(line.active for line in result.lines)
        reactivated = sum(line.reactivated for line in result.lines)
        rows.append(
            (
                result.member_id,
                result.domain,
                "healthy" if result.healthy else "UNHEALTHY",
                "ok" if result.token_ok else "failed",
                f"repaired {len(result.bindings_repaired)}" if result.bindings_repaired else "ok",
                f"{active}/{len(result.lines)} active"
                + (f", {reactivated} re-activated" if reactivated else ""),
                "; ".join(f"{p.area}: {p.code}" for p in result.problems) or "-",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )


async def serve(settings: Settings) -> int:
    """Run the HTTP server (uvloop + httptools); migrations are applied at start-up."""
    config = server_config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="none",  # main() already runs on uvloop
        http="httptools",
        access_log=False,  # web.middleware.AccessLog writes structured lines without query strings
        log_config=None,  # keep configure_logging's handler
        server_header=False,
    )
    server = BridgeServer(config)
    await server.serve()
    return 0 if server.started else EXIT_FAILURE


COMMANDS: dict[str, tuple[Command, str]] = {
    "migrate": (migrate, "apply pending database migrations"),
    "check": (check, "verify configuration, database and Redis, then health-check every portal"),
    "serve": (serve, "run the HTTP server and background tasks"),
    "worker": (worker_command, "run the outbox worker alone (without the HTTP server)"),
}

# Commands that take their own arguments: (function, summary, what adds the arguments).
ArgumentsCommand = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
COMMANDS_WITH_ARGUMENTS: dict[
    str, tuple[ArgumentsCommand, str, Callable[[argparse.ArgumentParser], None]]
] = {
    "outbox": (outbox_command, "list, retry or drop outbox jobs", add_outbox_arguments),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openline-bridge", description="Website chat ↔ Bitrix24 Open Channels."
    )
    parser.add_argument("--config", type=Path, help="TOML configuration file (default: $OLB_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, summary) in COMMANDS.items():
        commands.add_parser(name, help=summary, description=summary)
    for name, (_, summary, add_arguments) in COMMANDS_WITH_ARGUMENTS.items():
        add_arguments(commands.add_parser(name, help=summary, description=summary))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    arguments = _parser().parse_args(argv)
    try:
        settings = load_settings(arguments.config)
    except ConfigError as exc:
        print(f"openline-bridge: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format)
    if arguments.command in COMMANDS_WITH_ARGUMENTS:
        takes_arguments, _, _ = COMMANDS_WITH_ARGUMENTS[arguments.command]
        work = takes_arguments(settings, arguments)
    else:
        command, _ = COMMANDS[arguments.command]
        work = command(settings)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(work)
    except BridgeError as exc:
        print(f"openline-bridge {arguments.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
