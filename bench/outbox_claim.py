"""How long the outbox worker's claim takes with a backlog (not a test; prints its figures).

After a Bitrix24 outage a portal's outbox may hold tens of thousands of jobs; every dispatcher round claims
the next ones (``store.outbox.claim_due``, consecutive due jobs per conversation). This fills one portal's
outbox with ``--jobs`` send jobs over ``--conversations`` conversations and times claims of 50 (each rolled
back, so every claim sees the same backlog), then again with all but the last 100 jobs parked (an inactive
line). PostgreSQL's table statistics are refreshed first (``ANALYZE``), as autovacuum would have, unless
``--no-analyze`` (right after a bulk load).

    .venv/bin/python bench/outbox_claim.py [--database sqlite|postgresql|both] [--jobs 50000] [--no-analyze]

To compare with the code before the claim indexes (migration 0007), run it with ``PYTHONPATH`` pointing at
the ``src`` of a worktree of that commit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text, update

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _database import POSTGRES_URL, database_at
from _portal import offline_install
from _proc import machine, percentile
from openline_bridge.crypto import SecretBox
from openline_bridge.store import outbox, portals
from openline_bridge.store.database import Database
from openline_bridge.store.models import OutboxJob, OutboxStatus
from openline_bridge.store.outbox import NewJob
from openline_bridge.store.types import utc_now

SECRET = "bench-secret-key-0123456789abcdefghijkl"  # noqa: S105 -- a throwaway bench database
CLAIMS = 20


async def fill(database: Database, jobs: int, conversations: int, *, analyze: bool) -> int:
    """An installed portal with ``jobs`` pending send jobs; its id."""
    now = utc_now()
    async with database.transaction() as session:
        portal = await portals.upsert_install(
            session, SecretBox(SECRET), offline_install("b" * 32, "bench.bitrix24.example", now), now
        )
    for start in range(0, jobs, 5000):
        batch = [
            NewJob(
                portal.id, "send_message", {"message_id": n}, f"send:{n}", f"conversation:{n % conversations}"
            )
            for n in range(start, min(start + 5000, jobs))
        ]
        async with database.transaction() as session:
            await outbox.enqueue_many(session, batch, now)
    if database.is_postgresql and analyze:
        async with database.transaction() as session:
            await session.execute(text("ANALYZE outbox_jobs"))
    return portal.id


async def time_claims(database: Database, portal_id: int) -> tuple[list[float], int]:
    """Milliseconds of each of :data:`CLAIMS` claims (rolled back), and how many jobs the last one took."""
    times: list[float] = []
    claimed = 0
    for _ in range(CLAIMS):

        class RolledBack(Exception):
            pass

        started = time.perf_counter()
        try:
            async with database.transaction() as session:
                claimed = len(await outbox.claim_due(session, portal_id, "bench", utc_now(), runs=True))
                times.append((time.perf_counter() - started) * 1000)
                raise RolledBack
        except RolledBack:
            pass
    return times, claimed


async def run(url: str | None, jobs: int, conversations: int, *, analyze: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with database_at(url, Path(tmp)) as database:
            portal_id = await fill(database, jobs, conversations, analyze=analyze)
            name = "PostgreSQL" if database.is_postgresql else "SQLite"
            if database.is_postgresql and not analyze:
                name += " (no statistics)"
            for label in ("all pending", "all but the last 100 parked"):
                if label != "all pending":
                    async with database.transaction() as session:
                        await session.execute(
                            update(OutboxJob)
                            .where(OutboxJob.id <= jobs - 100)
                            .values(status=OutboxStatus.PARKED)
                        )
                times, claimed = await time_claims(database, portal_id)
                print(
                    f"{name}, {jobs} jobs in {conversations} conversations, {label}: claim of 50 took "
                    f"p50 {percentile(times, 50):.1f} ms, max {max(times):.1f} ms ({claimed} claimed)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--no-analyze", action="store_true", help="PostgreSQL without table statistics")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for backend in ("sqlite", "postgresql"):
        if args.database in (backend, "both"):
            url = POSTGRES_URL if backend == "postgresql" else None
            asyncio.run(run(url, args.jobs, args.conversations, analyze=not args.no_analyze))


if __name__ == "__main__":
    main()
