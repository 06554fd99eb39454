"""Structured logging: JSON lines or key=value, with credentials redacted at any depth."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from openline_bridge.logging import configure_logging, get_logger


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    yield buffer
    configure_logging("warning", "json")


def test_json_lines_with_redaction(stream: io.StringIO) -> None:
    configure_logging("info", "json", stream)
    get_logger("openline_bridge.test").info(
        "portal.installed",
        member_id="m1",
        payload={"auth": {"access_token": "AT"}, "AUTH_ID": "A", "REFRESH_ID": "R", "data": [{"token": "T"}]},
        client_secret="S",
    )
    get_logger("openline_bridge.test").debug("hidden")
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "portal.installed"
    assert record["level"] == "info"
    assert record["member_id"] == "m1"
    assert record["payload"] == {
        "auth": "[redacted]",
        "AUTH_ID": "[redacted]",
        "REFRESH_ID": "[redacted]",
        "data": [{"token": "[redacted]"}],
    }
    assert record["client_secret"] == "[redacted]"
    for secret in ("AT", '"A"', '"R"', '"T"', '"S"'):
        assert secret not in line


def test_console_format(stream: io.StringIO) -> None:
    configure_logging("debug", "console", stream)
    get_logger("olb").warning("line.status", line=3, refresh_token="x")
    output = stream.getvalue()
    assert 'warning olb line.status line=3 refresh_token="[redacted]"' in output
