"""One handler per job kind; :data:`HANDLERS` maps each kind to its handler."""

from __future__ import annotations

from openline_bridge.worker.handlers.base import Env, Handler, Prepared, Ready, Settled
from openline_bridge.worker.handlers.chat_name import ChatNameHandler
from openline_bridge.worker.handlers.edits import DeleteHandler, UpdateHandler
from openline_bridge.worker.handlers.receipts import DeliveryHandler, ReadingHandler
from openline_bridge.worker.handlers.send import SendHandler
from openline_bridge.worker.jobs import JobKind

__all__ = ["HANDLERS", "Env", "Handler", "Prepared", "Ready", "Settled"]

HANDLERS: dict[JobKind, Handler] = {
    handler.kind: handler
    for handler in (
        SendHandler(),
        UpdateHandler(),
        DeleteHandler(),
        DeliveryHandler(),
        ReadingHandler(),
        ChatNameHandler(),
    )
}
