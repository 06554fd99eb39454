"""``/healthz`` (the process is up) and ``/readyz`` (the database answers; per-portal health summary).

``/readyz`` answers 503 ``not_ready`` when the database cannot be reached, so a load balancer stops
sending traffic; an unhealthy portal does not make the process unready (the other portals still work),
it is reported in the summary, as the last health check stored it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from openline_bridge.errors import StorageError
from openline_bridge.services import get_services
from openline_bridge.store import portals
from openline_bridge.web.errors import ApiError

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable, per-portal health")
async def readyz(request: Request) -> JSONResponse:
    """The database answers; every active portal with the outcome of its last health check."""
    services = get_services(request)
    try:
        async with services.database.read() as session:
            await session.execute(text("SELECT 1"))
            active = await portals.list_active(session)
    except StorageError:
        raise ApiError(503, "not_ready", "the database is unreachable") from None
    summary: list[dict[str, Any]] = []
    for portal in active:
        last = portal.last_check_result or {}
        summary.append(
            {
                "member_id": portal.member_id,
                "domain": portal.domain,
                "install_state": portal.install_state.value,
                "healthy": last.get("healthy"),
                "last_check_at": portal.last_check_at.isoformat() if portal.last_check_at else None,
                "problems": [problem.get("code") for problem in last.get("problems", [])],
            }
        )
    return JSONResponse({"status": "ready", "portals": summary})
