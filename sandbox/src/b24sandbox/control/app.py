"""The control API application: every route under `/_sandbox/`, JSON in and out.

Bad input is answered `{"error": code, "error_description": text}` with a 4xx status, never a
traceback: validation errors are 422 `INVALID_REQUEST`, refusals raise `ControlError`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from b24sandbox import pages
from b24sandbox.control import apps, openlines, placements, runtime
from b24sandbox.control.deps import ControlError
from b24sandbox.runtime import Sandbox

PREFIX = "/_sandbox"


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


async def _control_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControlError)
    return _error(exc.status, exc.code, exc.description)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
    )
    return _error(422, "INVALID_REQUEST", details or "invalid request")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = "NOT_FOUND" if exc.status_code == 404 else "HTTP_ERROR"
    return _error(exc.status_code, code, str(exc.detail))


def create_control_app(sandbox: Sandbox) -> FastAPI:
    """The FastAPI app serving `/_sandbox/*` (OpenAPI at `/_sandbox/openapi.json`) and the pages."""
    app = FastAPI(
        title="b24-sandbox control API",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    app.state.sandbox = sandbox
    app.add_exception_handler(ControlError, _control_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    for module in (apps, runtime, openlines, placements):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(pages.router)
    return app
