"""Memory of idle live connections in the bridge (not a test; prints its figures).

A real ``openline-bridge serve`` process (SQLite in a temporary directory, uvloop + httptools, the outbox
worker off) holds thousands of idle visitor WebSockets (``GET /api/v1/conversation/live``, docs/protocol.md
§7). The visitors are created through the real ``POST /api/v1/widgets/{key}/sessions``, each from its own
address (``X-Forwarded-For`` from loopback, which uvicorn trusts), so the per-IP session limit stays on.
Then a warm-up opens and closes a few hundred live connections (first-use imports and caches belong to the
baseline, not to the connections) and the bridge's memory is read: VmRSS from /proc/PID/status, PSS and
USS (private pages) from /proc/PID/smaps_rollup. Then every visitor connects (authenticates and gets
``ready``) and the connections stay idle past a heartbeat interval (25 s: each one is pinged and answers),
and the memory is read again. The client runs in this script's process, all on 127.0.0.1; the figure is
the growth beyond the baseline divided by the number of connections. The client offers permessage-deflate
as browsers do, so the figure holds for the widget's real connections.

    .venv/bin/python bench/live_idle.py [--connections 5000] [--hold 30]

Target: ≤ 20 KB per idle connection.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _live import (
    LiveClient,
    Memory,
    bridge,
    connect_all,
    http_client,
    memory_of,
    open_sessions,
    prepare,
    raise_open_files,
)
from _proc import free_port, machine

TARGET_KB = 20.0
HEARTBEAT_SECONDS = 25.0  # protocol §7.3: what the bridge announces in ``ready``
SAMPLE_SECONDS = 5.0


async def settled_memory(pid: int, samples: int = 3) -> Memory:
    """The median of a few readings a second apart (the allocator and the GC settle between them)."""
    readings = []
    for _ in range(samples):
        await asyncio.sleep(1.0)
        readings.append(memory_of(pid))

    def median(values: list[int | None]) -> int | None:
        present = [value for value in values if value is not None]
        return int(statistics.median(present)) if present else None

    rss = median([reading.rss for reading in readings])
    assert rss is not None
    return Memory(rss, median([r.pss for r in readings]), median([r.uss for r in readings]))


def per_connection(loaded: int | None, baseline: int | None, connections: int) -> str:
    if loaded is None or baseline is None:
        return "n/a"
    return f"{(loaded - baseline) / connections:.1f} KiB"


async def run(connections: int, warm_up: int, hold: float) -> None:
    raise_open_files(connections + warm_up + 1024)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        database_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        widget_key = await prepare(database_url)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        live_url = f"ws://127.0.0.1:{port}/api/v1/conversation/live"
        with bridge(tmp, port, database_url) as pid:
            async with http_client() as http:
                visitors = await open_sessions(http, base_url, widget_key, connections)
                warming = [LiveClient(visitor) for visitor in visitors[:warm_up]]
                await connect_all(http, live_url, warming)
                await asyncio.gather(*(client.close() for client in warming))
                baseline = await settled_memory(pid)

                clients = [LiveClient(visitor) for visitor in visitors]
                connect_seconds = await connect_all(http, live_url, clients)
                peak_rss = 0
                for _ in range(max(1, round(hold / SAMPLE_SECONDS))):
                    await asyncio.sleep(SAMPLE_SECONDS)
                    peak_rss = max(peak_rss, memory_of(pid).rss)
                loaded = await settled_memory(pid)
                still_open = sum(client.open for client in clients)
                pinged = sum(client.pings > 0 for client in clients)
                await asyncio.gather(*(client.close() for client in clients))

    print(f"idle live connections: {connections} visitors, SQLite, held {hold:g} s after the last connected")
    print(f"machine: {machine()}")
    print(
        f"connected in {connect_seconds:.1f} s ({connections / connect_seconds:.0f}/s); "
        f"still open at the end: {still_open}; pinged at least once: {pinged}"
    )
    print(f"{'':12}{'baseline':>12}{'connected':>12}{'per connection':>18}")
    for name, before, after in (
        ("VmRSS", baseline.rss, loaded.rss),
        ("PSS", baseline.pss, loaded.pss),
        ("USS", baseline.uss, loaded.uss),
    ):
        shown = [f"{value:,} KiB" if value is not None else "n/a" for value in (before, after)]
        print(f"{name:12}{shown[0]:>12}{shown[1]:>12}{per_connection(after, before, connections):>18}")
    print(f"peak VmRSS while held: {peak_rss:,} KiB")
    growth = (loaded.rss - baseline.rss) / connections
    verdict = "met" if growth <= TARGET_KB else "NOT met"
    print(f"target ≤ {TARGET_KB:g} KB per idle connection (VmRSS): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--connections", type=int, default=5000, help="idle live connections (one visitor each)"
    )
    parser.add_argument(
        "--warm-up", type=int, default=200, help="connections opened and closed before the baseline"
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=30.0,
        help=f"seconds idle after the last connected (> {HEARTBEAT_SECONDS:g})",
    )
    args = parser.parse_args()
    asyncio.run(run(args.connections, min(args.warm_up, args.connections), args.hold))


if __name__ == "__main__":
    main()
