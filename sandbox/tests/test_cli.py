"""The `b24sandbox serve` command, including HTTPS with a generated certificate."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from b24sandbox.cli import build_parser
from b24sandbox.tls import ensure_certificate


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.https, args.event_delay) == ("127.0.0.1", 8024, False, 0.0)


def test_certificate_is_generated_once(tmp_path: Path) -> None:
    cert, key = ensure_certificate(tmp_path)
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert key.stat().st_mode & 0o077 == 0
    assert ensure_certificate(tmp_path) == (cert, key)
    assert cert.read_bytes() == ensure_certificate(tmp_path)[0].read_bytes()


def test_serve_https_prints_urls_and_answers(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "b24sandbox.cli",
            "serve",
            "--port",
            "0",
            "--https",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("TLS certificate:")
        rest_url = lines[1].split()[-1]
        assert rest_url.startswith("https://127.0.0.1:")
        cert = tmp_path / "sandbox-cert.pem"
        deadline = time.monotonic() + 10
        while True:
            try:
                trust = ssl.create_default_context(cafile=str(cert))
                response = httpx.post(f"{rest_url}profile", verify=trust, timeout=2)
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert response.status_code == 401
        assert response.json()["error"] == "NO_AUTH_FOUND"
    finally:
        process.terminate()
        process.wait(10)
