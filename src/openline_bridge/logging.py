"""Structured logs: an event name plus fields, written as JSON lines (default) or ``key=value`` text.

Usage: ``log = get_logger(__name__); log.info("portal.installed", member_id=member_id)``.
Fields whose name looks like a credential (``*token*``, ``auth``, ``AUTH_ID``, ``REFRESH_ID``, ``*secret*``,
``password``) are replaced by ``"[redacted]"`` at any depth, so a payload logged whole cannot leak tokens.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any, Literal

import orjson

__all__ = ["StructuredLogger", "configure_logging", "get_logger", "redact"]

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"token|secret|password|passwd|^auth$|auth_id|refresh_id|authorization|cookie", re.I)
_FIELDS_ATTR = "olb_fields"


def redact(value: Any) -> Any:
    """A copy of ``value`` with credential-like keys masked, recursively through mappings and lists."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_KEY.search(key) else redact(inner)
            for key, inner in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


class StructuredLogger:
    """A thin wrapper over a stdlib logger taking an event name and keyword fields."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, event: str, fields: dict[str, Any], exc_info: bool = False) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={_FIELDS_ATTR: fields}, exc_info=exc_info, stacklevel=3)

    def debug(self, event: str, **fields: Any) -> None:
        """Log a debug event."""
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Log an info event."""
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log a warning event."""
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log an error event."""
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        """Log an error event with the current exception's traceback."""
        self._log(logging.ERROR, event, fields, exc_info=True)


def get_logger(name: str) -> StructuredLogger:
    """The structured logger for a module (pass ``__name__``)."""
    return StructuredLogger(logging.getLogger(name))


def _record_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "event": record.getMessage(),
    }
    fields.update(redact(getattr(record, _FIELDS_ATTR, {})))
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _record_fields(record)
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(fields, default=str).decode("utf-8")


class ConsoleFormatter(logging.Formatter):
    """``at level logger event key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _record_fields(record)
        head = " ".join(str(fields.pop(key)) for key in ("at", "level", "logger", "event"))
        tail = " ".join(f"{key}={orjson.dumps(value, default=str).decode()}" for key, value in fields.items())
        line = f"{head} {tail}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(
    level: str = "info", fmt: Literal["json", "console"] = "json", stream: IO[str] | None = None
) -> None:
    """Route all logs (ours and libraries') to one handler with the chosen format; idempotent."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
