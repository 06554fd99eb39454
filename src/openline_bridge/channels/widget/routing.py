"""The route class of the visitor API: body checks before parsing, and every refusal in the envelope.

FastAPI's defaults answer malformed input with 422; the protocol wants ``400 validation_error`` with
``details``, ``413 payload_too_large`` over 64 KiB and ``415 unsupported_media_type`` for a body that is
not JSON (docs/protocol.md §1, §3). Routes of this class get exactly that, and their ``WidgetError`` and
relay refusals leave as the envelope with the right status.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from openline_bridge.channels.widget.errors import WidgetError, invalid_token, refusal, relay_refusal
from openline_bridge.channels.widget.responses import JsonReply
from openline_bridge.errors import NotFoundError
from openline_bridge.relay.errors import RelayError

__all__ = [
    "JSON_BODY_LIMIT",
    "WidgetRoute",
    "body_too_large",
    "parse_json_body",
    "require_json",
    "validation_refusal",
    "widget_refusal",
]

JSON_BODY_LIMIT = 64 * 1024  # protocol §1
M = TypeVar("M", bound=BaseModel)


def _field(location: tuple[Any, ...]) -> str:
    # FastAPI prefixes the part of the request ("body", "query", "path"); the protocol names the field.
    parts = [str(part) for part in location[1:]] if len(location) > 1 else [str(p) for p in location]
    return ".".join(parts)


def validation_refusal(errors: Sequence[Mapping[str, Any]]) -> WidgetError:
    """``400 validation_error`` listing each offending field (protocol §3 ``details``); ``errors`` as
    FastAPI reports them (``loc`` starting with the part of the request)."""
    details = [
        {"field": _field(tuple(error.get("loc", ()))), "message": str(error.get("msg", "invalid"))}
        for error in errors
    ]
    return WidgetError(400, "validation_error", "the request is not valid", details=details)


def body_too_large() -> WidgetError:
    """protocol §1: a JSON body over 64 KiB."""
    return WidgetError(413, "payload_too_large", f"the JSON body exceeds {JSON_BODY_LIMIT} bytes")


def require_json(headers: Headers, body: bytes) -> None:
    """Refuse a non-empty body that is not declared JSON (``415 unsupported_media_type``)."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if body and media_type != "application/json" and not media_type.endswith("+json"):
        raise WidgetError(415, "unsupported_media_type", "the body must be JSON")


def parse_json_body(model: type[M], body: bytes) -> M:
    """``body`` validated as ``model``, or ``400 validation_error`` naming each offending field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise validation_refusal(errors) from None


def widget_refusal(exc: Exception) -> JsonReply | None:
    """The envelope of a refusal the visitor API makes on purpose, None for any other exception."""
    if isinstance(exc, RequestValidationError):
        return refusal(validation_refusal(exc.errors()))
    if isinstance(exc, WidgetError):
        return refusal(exc)
    if isinstance(exc, RelayError):
        return refusal(relay_refusal(exc))
    if isinstance(exc, NotFoundError):
        # the token's visitor or conversation disappeared (its line was deleted) after the token was
        # resolved: for the client that is a dead token (protocol §2.1)
        return refusal(invalid_token())
    return None


async def _check_json_body(request: Request) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > JSON_BODY_LIMIT:
        raise body_too_large()
    body = await request.body()  # cached: the route handler reads the same bytes
    if len(body) > JSON_BODY_LIMIT:
        raise body_too_large()
    require_json(request.headers, body)


class WidgetRoute(APIRoute):
    """An API route answering every refusal with the protocol's envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None

        async def guarded(request: Request) -> Response:
            try:
                if takes_json:
                    await _check_json_body(request)
                return await handler(request)
            except Exception as exc:
                answer = widget_refusal(exc)
                if answer is None:
                    raise
                return answer

        return guarded
