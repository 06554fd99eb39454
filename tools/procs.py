"""Child servers on loopback for the benchmark and demo scripts: free ports, start-up waits, clean stops."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


class NotUpError(RuntimeError):
    """A child server did not answer HTTP within its start-up time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    """Wait until `url` answers any HTTP status; `NotUpError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise NotUpError(f"{url} did not come up within {timeout:.0f} s")


@contextlib.contextmanager
def child(
    args: list[str], env: dict[str, str], log: Path | None, stop_timeout: float = 10.0
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process with its output appended to `log` (discarded if None); terminated on exit,
    killed if it has not stopped after `stop_timeout` seconds."""
    with contextlib.ExitStack() as files:
        out = files.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
