"""``openline-bridge worker`` and ``openline-bridge outbox list|retry|drop`` as real subprocesses."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy import select
from tests.bitrix24.sandbox_peer import CLIENT_ID, CLIENT_SECRET, SandboxProcess
from tests.test_cli import EXECUTABLE, cli_database_url, run
from tests.worker.peer import CONNECTOR, SECRET, connect_bridge, wait_until

from openline_bridge.store.database import Database
from openline_bridge.store.models import MessageStatus, OutboxStatus, PortalLease

__all__ = ["cli_database_url"]  # the fixture, shared with the bridge's own CLI tests


def _async_url(url: str) -> str:
    return url.replace("sqlite://", "sqlite+aiosqlite://", 1).replace(
        "postgresql://", "postgresql+asyncpg://", 1
    )


async def test_worker_process_and_outbox_commands(
    settings_env: dict[str, str], cli_database_url: str, sandbox: SandboxProcess, tmp_path: Path
) -> None:
    env = {
        **settings_env,
        "OLB_DATABASE_URL": cli_database_url,
        "OLB_SECRET_KEY": SECRET,
        "OLB_B24_CLIENT_ID": CLIENT_ID,
        "OLB_B24_CLIENT_SECRET": CLIENT_SECRET,
        "OLB_CONNECTOR_ID": CONNECTOR,
    }
    assert (await asyncio.to_thread(run, env, "migrate")).returncode == 0
    database = Database.connect(_async_url(cli_database_url))
    bridge = await connect_bridge(database, sandbox, tmp_path / "files")
    try:
        refused = {
            "method": "imconnector.send.messages",
            "status": 400,
            "error": "ERROR_ARGUMENT",
            "count": 1,
        }
        sandbox.control("PUT", "/faults", {"errors": [refused]})
        conversation = await bridge.new_conversation()
        doomed = await bridge.post(conversation, "refused")
        log = (tmp_path / "worker.log").open("wb")
        worker = await asyncio.create_subprocess_exec(
            EXECUTABLE, "worker", env={"PATH": os.environ.get("PATH", ""), **env}, stdout=log, stderr=log
        )
        try:
            await wait_until(bridge.all_settled)
            delivered = await bridge.post(conversation, "accepted")

            async def sent() -> bool:
                return (await bridge.statuses())[delivered] == MessageStatus.DELIVERED

            await wait_until(sent)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(worker.wait(), timeout=30)
        assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]
        async with database.transaction() as session:
            assert list(await session.scalars(select(PortalLease.owner))) == [None]  # released on SIGTERM
        (dead,) = [job for job in await bridge.jobs() if job.status == OutboxStatus.DEAD]
        assert dead.payload == {"message_id": doomed}

        listed = await asyncio.to_thread(run, env, "outbox", "list", "--status", "dead")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[0].split()[:4] == ["ID", "PORTAL", "KIND", "STATUS"]
        assert [line.split()[:4] for line in lines[1:]] == [
            [str(dead.id), str(bridge.portal_id), "send_message", "dead"]
        ]
        assert "rejected: ERROR_ARGUMENT" in listed.stdout

        retried = await asyncio.to_thread(run, env, "outbox", "retry", str(dead.id))
        assert (retried.returncode, retried.stdout.strip()) == (0, f"re-queued 1 job(s): {dead.id}")
        again = await asyncio.to_thread(run, env, "outbox", "retry", str(dead.id))
        assert again.returncode == 1 and f"no dead job {dead.id}" in again.stderr
        pending = await asyncio.to_thread(
            run, env, "outbox", "list", "--status", "pending", "--portal", bridge.member_id
        )
        assert str(dead.id) in pending.stdout.split()

        dropped = await asyncio.to_thread(run, env, "outbox", "drop", str(dead.id))
        assert dropped.returncode == 0 and f"dropped job {dead.id}" in dropped.stdout
        assert dead.id not in [job.id for job in await bridge.jobs()]
        assert (await asyncio.to_thread(run, env, "outbox", "drop", str(dead.id))).returncode == 1
        unknown = await asyncio.to_thread(run, env, "outbox", "list", "--portal", "no-such-portal")
        assert unknown.returncode == 1 and "no-such-portal" in unknown.stderr
        nothing = await asyncio.to_thread(run, env, "outbox", "list", "--status", "parked")
        assert (nothing.returncode, nothing.stdout.strip()) == (0, "no jobs")
    finally:
        for client in bridge.clients:
            await client.aclose()
        await database.dispose()
