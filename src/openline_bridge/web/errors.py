"""The one error envelope of the bridge's HTTP API: ``{"error": {"code": ..., "message": ...}}``.

Every 4xx/5xx the bridge produces goes through here: our own :class:`ApiError`, Starlette's HTTP
errors (404, 405…), request validation (422 ``invalid_request``) and, as a last resort, any unexpected
exception (500 ``internal_error``, logged with its traceback but never sent to the client).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from openline_bridge.logging import get_logger

__all__ = ["ApiError", "error_response", "install_error_handlers"]

_log = get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer the bridge gives on purpose: HTTP ``status`` plus a machine-readable ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{status} {code}: {message}")


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The envelope as a response."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in exc.errors()
    )
    return error_response(422, "invalid_request", problems or "invalid request")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("http.unhandled_error", method=request.method, path=request.url.path)
    return error_response(500, "internal_error", "the bridge failed to handle this request")


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to the envelope."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
