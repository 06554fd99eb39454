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

from redis.asyncio import Redis
from redis.exceptions import RedisError

from openline_bridge.errors import BridgeError, ConfigError
from openline_bridge.logging import configure_logging, get_logger
from openline_bridge.settings import Settings, load_settings
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import current_revision, head_revision, upgrade

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
    """Verify the configuration, the database (reachable, fully migrated) and Redis (if configured)."""
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
    if not problems:
        apps = ", ".join(app.client_id for app in settings.apps)
        print(f"configuration ok; public URL {settings.public_url}; apps {apps}; database at {revision}")
    return EXIT_FAILURE if problems else 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "migrate": (migrate, "apply pending database migrations"),
    "check": (check, "verify configuration, database and Redis"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openline-bridge", description="Website chat ↔ Bitrix24 Open Channels."
    )
    parser.add_argument("--config", type=Path, help="TOML configuration file (default: $OLB_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, summary) in COMMANDS.items():
        commands.add_parser(name, help=summary, description=summary)
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
    command, _ = COMMANDS[arguments.command]
    try:
        return asyncio.run(command(settings))
    except BridgeError as exc:
        print(f"openline-bridge {arguments.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
