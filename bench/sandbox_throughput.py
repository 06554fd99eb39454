"""Throughput of the sandbox on `imconnector.send.messages` (not a test; prints its figures).

Starts `b24sandbox serve` (limits off), creates and installs an app, creates a line, registers and
activates a connector, then sends one message per call as fast as it can with 1 and with 50
concurrent clients for a fixed time each. Half the calls come from a new visitor (new customer,
chat and session), half from a small set of returning visitors. Prints calls/s, p50/p99 latency,
the error count and the machine.

    .venv/bin/python bench/sandbox_throughput.py [--seconds 10] [--clients 1,50] [--limits 50/2]

`--limits 50/2` switches the sandbox's leaky bucket on (contract §4: burst 50, drain 2/s) after the
setup and shows which share of the calls got 503 QUERY_LIMIT_EXCEEDED.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import orjson

from _proc import machine, percentile, sandbox

CONNECTOR = "benchconn"
ICON = {"DATA_IMAGE": "data:image/svg+xml,%3Csvg%2F%3E", "COLOR": "#69acc0"}
RETURNING_VISITORS = 8  # per client
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class SetupError(RuntimeError):
    """The sandbox refused a setup call."""


@dataclass(frozen=True)
class Target:
    """Where and as whom the load is sent."""

    url: str  # the send.messages endpoint
    token: str
    line: int


@dataclass
class Stats:
    """What one phase measured."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # anything but a fully successful call, the rate-limit refusals excepted
    limited: int = 0  # 503 QUERY_LIMIT_EXCEEDED (contract §4)

    def record(self, seconds: float, status: int, body: bytes) -> None:
        """Count one finished call."""
        self.latencies.append(seconds)
        if status == 503 and b"QUERY_LIMIT_EXCEEDED" in body:
            self.limited += 1
        elif status != 200 or b'"SUCCESS":false' in body:
            self.errors += 1  # contract §8.7: a message can fail inside an HTTP 200 answer


def prepare(base: str, limits: str | None) -> Target:
    """Create, install and connect an app on a fresh sandbox; switch the limits on last."""
    with httpx.Client(base_url=base, timeout=10) as http:
        app = http.post("/_sandbox/apps", json={"name": "bench", "api_only": True}).json()
        token = http.post(f"/_sandbox/apps/{app['client_id']}/install").json()["access_token"]
        line = int(http.post("/_sandbox/lines", json={"name": "Bench"}).json()["id"])
        calls: list[tuple[str, dict[str, Any]]] = [
            (
                "imconnector.register",
                {"ID": CONNECTOR, "NAME": "Bench", "ICON": ICON, "PLACEMENT_HANDLER": "https://bench.test/"},
            ),
            ("imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": line, "ACTIVE": 1}),
        ]
        for method, params in calls:
            answer = http.post(f"/rest/{method}.json", json={**params, "auth": token})
            if answer.status_code != 200 or "error" in answer.json():  # §2.3: register fails with 200
                raise SetupError(f"{method} failed: {answer.text}")
        if limits:
            http.put("/_sandbox/limits", json={"rate": limits}).raise_for_status()
    return Target(f"{base}/rest/imconnector.send.messages.json", token, line)


def message_body(target: Target, client: int, n: int) -> bytes:
    """One customer message; even calls come from a new visitor, odd ones from a returning one."""
    visitor = f"c{client}-new{n}" if n % 2 == 0 else f"c{client}-back{n // 2 % RETURNING_VISITORS}"
    element = {
        "user": {"id": visitor, "name": "Bench Visitor"},
        "message": {"id": f"c{client}-m{n}", "text": f"Message {n}"},
        "chat": {"id": visitor},
    }
    return orjson.dumps(
        {"CONNECTOR": CONNECTOR, "LINE": target.line, "MESSAGES": [element], "auth": target.token}
    )


async def client_loop(
    session: aiohttp.ClientSession, target: Target, client: int, deadline: float, stats: Stats
) -> None:
    """Send calls back to back until the deadline."""
    n = 0
    while time.perf_counter() < deadline:
        body = message_body(target, client, n)
        started = time.perf_counter()
        try:
            async with session.post(target.url, data=body, headers=JSON_HEADERS) as response:
                status, payload = response.status, await response.read()
        except aiohttp.ClientError:
            status, payload = 0, b""  # a transport failure counts as an error
        stats.record(time.perf_counter() - started, status, payload)
        n += 1


async def run_phase(target: Target, clients: int, seconds: float, phase: int) -> tuple[Stats, float]:
    """`clients` concurrent keep-alive clients for `seconds`; the stats and the elapsed time."""
    stats = Stats()
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds
        # distinct client numbers per phase keep every phase's "new" visitors new
        await asyncio.gather(
            *(client_loop(session, target, phase * 1000 + c, deadline, stats) for c in range(clients))
        )
        elapsed = time.perf_counter() - started
    return stats, elapsed


def report(clients: int, stats: Stats, elapsed: float) -> str:
    """One table row."""
    calls = len(stats.latencies)
    p50, p99 = (percentile(stats.latencies, p) * 1000 for p in (50, 99))
    accepted = calls - stats.errors - stats.limited
    limited = f"{stats.limited / calls:9.2%}" if calls else "        -"
    return (
        f"{clients:>7} {calls:>8} {calls / elapsed:>9.0f} {accepted:>8} {p50:>7.2f} {p99:>7.2f} "
        f"{stats.errors:>7} {limited}"
    )


def main() -> None:
    """Parse the options, run the phases, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    parser.add_argument("--clients", default="1,50", help="comma-separated concurrency levels")
    parser.add_argument("--limits", default=None, help="rate preset to switch on, e.g. 50/2")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    print(f"machine: {machine()}")
    print(
        f"sandbox: b24sandbox serve, limits {args.limits or 'off'}, one message per call, "
        f"{args.seconds:g} s per phase"
    )
    print(
        f"{'clients':>7} {'calls':>8} {'calls/s':>9} {'accepted':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>7} {'503 share':>9}"
    )
    with sandbox() as base:
        target = prepare(base, args.limits)
        for phase, clients in enumerate(levels, start=1):
            stats, elapsed = asyncio.run(run_phase(target, clients, args.seconds, phase))
            print(report(clients, stats, elapsed), flush=True)


if __name__ == "__main__":
    main()
