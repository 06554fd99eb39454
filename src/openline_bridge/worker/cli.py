"""The ``worker`` and ``outbox`` commands of ``openline-bridge`` (exit codes as in ``cli``)."""

from __future__ import annotations

import argparse
import sys

from openline_bridge.relay.wiring import build_messaging
from openline_bridge.services import Services
from openline_bridge.settings import Settings
from openline_bridge.store.models import OutboxStatus
from openline_bridge.store.types import utc_now
from openline_bridge.worker import admin
from openline_bridge.worker.service import run_standalone

__all__ = ["add_outbox_arguments", "outbox_command", "worker_command"]

_FAILURE = 1


async def worker_command(settings: Settings) -> int:
    """Run the outbox worker alone until SIGTERM/SIGINT."""
    services = Services.build(settings)
    try:
        await run_standalone(services)
    finally:
        await services.close()
    return 0


def add_outbox_arguments(parser: argparse.ArgumentParser) -> None:
    """``outbox list|retry|drop`` and their options."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="show jobs, oldest first")
    listing.add_argument("--status", choices=[status.value for status in OutboxStatus])
    listing.add_argument("--portal", metavar="MEMBER_ID", help="only this portal's jobs")
    listing.add_argument("--limit", type=int, default=100)
    retrying = actions.add_parser("retry", help="give dead jobs a fresh set of attempts")
    which = retrying.add_mutually_exclusive_group(required=True)
    which.add_argument("job_id", nargs="?", type=int)
    which.add_argument("--all-dead", action="store_true", help="every dead job (of --portal if given)")
    retrying.add_argument("--portal", metavar="MEMBER_ID")
    dropping = actions.add_parser("drop", help="remove a job for good (its visitor message shows failed)")
    dropping.add_argument("job_id", type=int)


async def outbox_command(settings: Settings, arguments: argparse.Namespace) -> int:
    """Run one ``outbox`` action; 1 when the job does not exist or is in the wrong state."""
    services = Services.build(settings)
    try:
        database = services.database
        member_id = getattr(arguments, "portal", None)  # `drop` takes a job id only
        portal_id = None if member_id is None else await admin.portal_id_of(database, member_id)
        if arguments.action == "list":
            status = None if arguments.status is None else OutboxStatus(arguments.status)
            jobs = await admin.list_jobs(database, status=status, portal_id=portal_id, limit=arguments.limit)
            print(admin.format_jobs(jobs))
            return 0
        if arguments.action == "retry":
            job_id = None if arguments.all_dead else arguments.job_id
            requeued = await admin.retry(database, utc_now(), job_id=job_id, portal_id=portal_id)
            if not requeued and job_id is not None:
                print(f"openline-bridge outbox: no dead job {job_id}", file=sys.stderr)
                return _FAILURE
            print(
                f"re-queued {len(requeued)} job(s)"
                + (f": {', '.join(map(str, requeued))}" if requeued else "")
            )
            return 0
        messaging = build_messaging(settings, database, services.redis, services.token_store)
        try:
            dropped = await admin.drop(database, messaging.relay.notifier, arguments.job_id, utc_now())
        finally:
            await messaging.close()
        if dropped is None:
            print(f"openline-bridge outbox: no job {arguments.job_id} that is not running", file=sys.stderr)
            return _FAILURE
        print(f"dropped job {dropped.id} ({dropped.kind}, was {dropped.status.value})")
        return 0
    finally:
        await services.close()
