"""``openline-bridge serve`` as a real process: migrates, serves, logs requests, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.bitrix24.sandbox_peer import free_port

EXECUTABLE = str(Path(sys.executable).parent / "openline-bridge")


@pytest.mark.slow
def test_serve_migrates_answers_and_stops_on_sigterm(settings_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    env = {
        **settings_env,
        "PATH": os.environ.get("PATH", ""),
        "OLB_PORT": str(port),
        "OLB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "OLB_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([EXECUTABLE, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.1)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "portals": []}
        assert "/b24/events" in httpx.get(f"{base}/openapi.json", timeout=5).json()["paths"]
        refused = httpx.post(f"{base}/b24/events?secret=abc", content=b"junk", timeout=5)
        assert refused.json()["error"]["code"] == "malformed_event"
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=20)
    # uvicorn re-raises the captured SIGTERM after its graceful shutdown (what systemd counts as a clean
    # stop); the stop was graceful if the lifespan logged it.
    assert returncode in (0, -signal.SIGTERM)
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    events = [record["event"] for record in records]
    assert "bridge.started" in events
    assert "bridge.stopped" in events
    requests = [record for record in records if record["event"] == "http.request"]
    assert {"path": "/b24/events", "status": 400} in [
        {"path": record["path"], "status": record["status"]} for record in requests
    ]
    assert "secret=abc" not in log_path.read_text()  # the access log never keeps query strings
