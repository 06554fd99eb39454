"""Helpers shared by the benchmark scripts: free ports and child servers on loopback."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # tools/ holds the process helpers the demo shares

from tools.procs import child, free_port, wait_http  # noqa: E402

__all__ = [
    "BIN",
    "ROOT",
    "child",
    "free_port",
    "machine",
    "offline_bridge_env",
    "percentile",
    "sandbox",
    "wait_http",
]


@contextlib.contextmanager
def sandbox(*extra: str) -> Iterator[str]:
    """Run `b24sandbox serve` on a free port; yield its base URL."""
    port = free_port()
    args = [str(BIN / "b24sandbox"), "serve", "--host", "127.0.0.1", "--port", str(port), *extra]
    with child(args, {**os.environ, "PYTHONUNBUFFERED": "1"}, None):
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/_sandbox/openapi.json")
        yield base


def offline_bridge_env(tmp: Path, port: int, database_url: str, secret_key: str) -> dict[str, str]:
    """The environment of ``openline-bridge serve`` on ``port`` over a prepared database whose portal is
    not reachable: the outbox worker and the health check are off, so no traffic leaves loopback."""
    return {
        **os.environ,
        "OLB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OLB_PORT": str(port),
        "OLB_SECRET_KEY": secret_key,
        "OLB_B24_CLIENT_ID": "local.bench",
        "OLB_B24_CLIENT_SECRET": "bench-client-secret",
        "OLB_DATA_DIR": str(tmp),
        "OLB_DATABASE_URL": database_url.replace("sqlite+aiosqlite:", "sqlite:"),
        "OLB_SERVE_WORKER": "false",
        "OLB_HEALTH_CHECK_INTERVAL": "86400",
        "OLB_LOG_LEVEL": "warning",
    }


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def machine() -> str:
    """One line naming the machine the figures came from."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"
