"""Latency of ``POST /b24/events`` under a sustained event rate (not a test; prints its figures).

A real ``openline-bridge serve`` process (uvloop + httptools, JSON access log to a file) is installed
into a b24-sandbox portal through ``/b24/install`` (variant A); then genuine, form-encoded
``ONIMCONNECTORMESSAGEADD`` events, each with a new message id and the portal's application token, are
posted open-loop at a fixed rate (default 200/s for 30 s): each request leaves on its schedule whether
or not earlier ones were answered, so a slow answer cannot hide by slowing the load down. Latency is
measured per request from send to answer. Target: p99 ≤ 20 ms.

    .venv/bin/python bench/events_intake.py [--database sqlite|postgresql|both] [--rate 200] [--seconds 30]

SQLite is a file in a temp dir; PostgreSQL a throw-away database on 127.0.0.1:5432, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import BIN, child, free_port, machine, percentile, sandbox, wait_http

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
CLIENT_ID = "local.bench0events01"
CLIENT_SECRET = "bench-events-client-secret"  # noqa: S105 -- the sandbox app's, made up here
SECRET_KEY = "bench-secret-key-0123456789abcdefghijklmnopq"  # noqa: S105 -- a throw-away bridge's


def form(fields: dict[str, Any], prefix: str = "") -> str:
    """PHP bracket-key form encoding, as Bitrix24 posts events (contract §7.3)."""
    parts = []
    for key, value in fields.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            parts.append(form(value, name))
        else:
            parts.append(f"{quote(name, safe='[]')}={quote(str(value), safe='')}")
    return "&".join(parts)


def message_event(installed: dict[str, Any], message_id: int) -> bytes:
    """One operator message event from the installed portal."""
    return form(
        {
            "event": "ONIMCONNECTORMESSAGEADD",
            "event_handler_id": "1",
            "data": {
                "CONNECTOR": "openline_bridge",
                "LINE": "1",
                "MESSAGES": {
                    "0": {
                        "im": {"chat_id": "1807", "message_id": str(message_id)},
                        "message": {"user_id": "27", "text": f"[b]Operator:[/b][br] reply {message_id}"},
                        "chat": {"id": "bench-chat-1"},
                    }
                },
            },
            "ts": str(int(time.time())),
            "auth": {
                "domain": installed["domain"],
                "client_endpoint": installed["client_endpoint"],
                "server_endpoint": installed["server_endpoint"],
                "member_id": installed["member_id"],
                "application_token": installed["application_token"],
                "user_id": "27",
            },
        }
    ).encode()


@contextlib.contextmanager
def bridge_process(database_url: str, port: int, workdir: Path) -> Iterator[str]:
    """``openline-bridge serve`` on ``port``; yields its base URL."""
    env = {
        **os.environ,
        "OLB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OLB_PORT": str(port),
        "OLB_SECRET_KEY": SECRET_KEY,
        "OLB_B24_CLIENT_ID": CLIENT_ID,
        "OLB_B24_CLIENT_SECRET": CLIENT_SECRET,
        "OLB_DATABASE_URL": database_url,
        "OLB_DATA_DIR": str(workdir),
    }
    with child([str(BIN / "openline-bridge"), "serve"], env, workdir / "bridge.log", stop_timeout=15):
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", timeout=30)
        yield base


async def install(sandbox_url: str, bridge_url: str) -> dict[str, Any]:
    """Register the bench app in the sandbox and install it into the bridge."""
    async with httpx.AsyncClient(base_url=f"{sandbox_url}/_sandbox", timeout=30) as control:
        (await control.post("/reset")).raise_for_status()
        await control.put("/limits", json={"rate": "off"})
        app = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "install_url": f"{bridge_url}/b24/install",
            "api_only": True,
        }
        (await control.post("/apps", json=app)).raise_for_status()
        answer = (await control.post(f"/apps/{CLIENT_ID}/install", json={})).json()
    if answer["status"] != 200:
        raise RuntimeError(f"install failed: {answer['status']} {answer['body'][:300]}")
    installed: dict[str, Any] = answer
    return installed


async def load(bridge_url: str, installed: dict[str, Any], rate: float, seconds: float) -> dict[str, Any]:
    """Post events open-loop at ``rate`` per second for ``seconds``; latency figures.

    The client is aiohttp: httpx's connection pool costs more CPU per request than the bridge's whole
    handler under this concurrency on two cores, and would measure itself.
    """
    total = int(rate * seconds)
    bodies = [message_event(installed, 1_000_000 + index) for index in range(total)]
    latencies: list[float] = []
    failures: dict[str, int] = {}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    url = f"{bridge_url}/b24/events"
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=500), timeout=timeout) as client:

        async def one(body: bytes) -> None:
            started = time.perf_counter()
            try:
                async with client.post(url, data=body, headers=headers) as response:
                    await response.read()
                    outcome = str(response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome = type(exc).__name__
            if outcome == "200":
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                failures[outcome] = failures.get(outcome, 0) + 1

        for index in range(20):  # warm up connections and code paths; not measured
            await one(message_event(installed, index + 1))
        latencies.clear()
        tasks = []
        start = time.perf_counter()
        for index, body in enumerate(bodies):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"sent": total, "elapsed": elapsed, "latencies": latencies, "failures": failures}


async def postgres_database() -> tuple[str, str]:
    """A throw-away PostgreSQL database: ``(url, name)``."""
    name = f"olb_bench_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"postgresql://postgres@127.0.0.1:5432/{name}", name


async def drop_postgres_database(name: str) -> None:
    """Drop the throw-away database."""
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def report(backend: str, figures: dict[str, Any], rate: float) -> None:
    """Print one backend's figures."""
    latencies = figures["latencies"]
    achieved = figures["sent"] / figures["elapsed"]
    head = f"/b24/events on {backend}: {figures['sent']} events"
    print(f"\n{head}, {rate:.0f}/s target, {achieved:.1f}/s achieved")
    print(f"  answered 200: {len(latencies)}   failed: {figures['failures'] or 0}")
    for pct in (50, 90, 99, 99.9):
        print(f"  p{pct:<5} {percentile(latencies, pct):8.2f} ms")
    print(f"  max    {max(latencies, default=float('nan')):8.2f} ms")


async def run_backend(backend: str, sandbox_url: str, rate: float, seconds: float) -> None:
    """Measure one backend end to end."""
    with tempfile.TemporaryDirectory(prefix="olb-bench-") as tmp:
        workdir = Path(tmp)
        dropped: str | None = None
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'bridge.db'}"
        else:
            url, dropped = await postgres_database()
        try:
            with bridge_process(url, free_port(), workdir) as bridge_url:
                installed = await install(sandbox_url, bridge_url)
                figures = await load(bridge_url, installed, rate, seconds)
            report(backend, figures, rate)
        finally:
            if dropped is not None:
                await drop_postgres_database(dropped)


async def main() -> None:
    """Parse arguments and run the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the sustained load")
    arguments = parser.parse_args()
    backends = ["sqlite", "postgresql"] if arguments.database == "both" else [arguments.database]
    print(f"machine: {machine()}")
    print("target: p99 <= 20 ms at 200 events/s sustained for 30 s")
    with sandbox() as sandbox_url:
        for backend in backends:
            await run_backend(backend, sandbox_url, arguments.rate, arguments.seconds)


if __name__ == "__main__":
    asyncio.run(main())
