"""Portals: one row per ``member_id``, kept across re-installs (contract §6, §11)."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openline_bridge.crypto import SecretBox
from openline_bridge.errors import PortalNotFound
from openline_bridge.store.models import InstallState, Portal
from openline_bridge.store.tables import table_of
from openline_bridge.store.upsert import insert_on_conflict

__all__ = [
    "PortalInstall",
    "PortalRecord",
    "callback_identities",
    "find",
    "get",
    "list_active",
    "mark_install_finished",
    "mark_uninstalled",
    "purge",
    "record_check",
    "upsert_install",
    "verify_application_token",
]


@dataclass(frozen=True)
class PortalInstall:
    """What an install (``ONAPPINSTALL`` or the install page) says about a portal (contract §6.2, §6.3)."""

    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    client_id: str
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    application_token: str | None
    scope: str
    installed_by_bitrix_user_id: int | None

    def __repr__(self) -> str:
        return f"PortalInstall(member_id={self.member_id!r}, domain={self.domain!r})"


@dataclass(frozen=True)
class PortalRecord:
    """A portal as the rest of the bridge sees it: no tokens (those go through ``store.tokens``)."""

    id: int
    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    client_id: str
    scope: str
    install_state: InstallState
    install_finished: bool
    installed_by_bitrix_user_id: int | None
    installed_at: datetime
    uninstalled_at: datetime | None
    last_check_at: datetime | None
    last_check_result: dict[str, Any] | None

    @classmethod
    def of(cls, row: Portal) -> PortalRecord:
        """Copy the public fields of a row."""
        return cls(
            id=row.id,
            member_id=row.member_id,
            domain=row.domain,
            client_endpoint=row.client_endpoint,
            server_endpoint=row.server_endpoint,
            client_id=row.client_id,
            scope=row.scope,
            install_state=row.install_state,
            install_finished=row.install_finished,
            installed_by_bitrix_user_id=row.installed_by_bitrix_user_id,
            installed_at=row.installed_at,
            uninstalled_at=row.uninstalled_at,
            last_check_at=row.last_check_at,
            last_check_result=row.last_check_result,
        )


async def upsert_install(
    session: AsyncSession, box: SecretBox, install: PortalInstall, now: datetime
) -> PortalRecord:
    """Store an install; a re-install of the same ``member_id`` updates its row (same id), never duplicates.

    The portal starts (again) in ``installing``: setup (connector, events) has to run for this install.
    """
    values: dict[str, Any] = {
        "domain": install.domain,
        "client_endpoint": install.client_endpoint,
        "server_endpoint": install.server_endpoint,
        "client_id": install.client_id,
        "access_token_sealed": box.seal(install.access_token),
        "refresh_token_sealed": box.seal(install.refresh_token),
        "access_expires_at": install.access_expires_at,
        "application_token_sealed": (
            box.seal(install.application_token) if install.application_token is not None else None
        ),
        "scope": install.scope,
        "installed_by_bitrix_user_id": install.installed_by_bitrix_user_id,
        "install_state": InstallState.INSTALLING,
        "install_finished": False,
        "installed_at": now,
        "uninstalled_at": None,
        "updated_at": now,
    }
    statement = insert_on_conflict(session, Portal).values(
        member_id=install.member_id, created_at=now, **values
    )
    statement = statement.on_conflict_do_update(index_elements=[Portal.member_id], set_=values)
    await session.execute(statement)
    return await get(session, install.member_id, include_uninstalled=True)


async def find(
    session: AsyncSession, member_id: str, *, include_uninstalled: bool = False
) -> PortalRecord | None:
    """The portal with this ``member_id``, or None (uninstalled portals only when asked)."""
    row = await session.scalar(
        select(Portal).where(Portal.member_id == member_id).execution_options(populate_existing=True)
    )
    if row is None or (row.install_state is InstallState.UNINSTALLED and not include_uninstalled):
        return None
    return PortalRecord.of(row)


async def get(session: AsyncSession, member_id: str, *, include_uninstalled: bool = False) -> PortalRecord:
    """The portal with this ``member_id``; raise ``PortalNotFound`` if there is none."""
    record = await find(session, member_id, include_uninstalled=include_uninstalled)
    if record is None:
        raise PortalNotFound(member_id)
    return record


async def verify_application_token(
    session: AsyncSession, box: SecretBox, member_id: str, application_token: str
) -> bool:
    """Whether a callback's ``application_token`` is the one stored at install (pitfall P8, contract §6.4)."""
    sealed = await session.scalar(
        select(Portal.application_token_sealed).where(Portal.member_id == member_id)
    )
    if sealed is None:
        return False
    return hmac.compare_digest(box.open(sealed).encode(), application_token.encode())


def _callback_identities() -> Select[int, str, bytes | None]:
    table = table_of(Portal).c
    return select(table.id, table.member_id, table.application_token_sealed).where(
        table.member_id.in_(bindparam("member_ids", expanding=True)),
        table.install_state != InstallState.UNINSTALLED,
    )


_CALLBACK_IDENTITIES = _callback_identities()  # every event batch runs it (store.statements)


async def callback_identities(
    session: AsyncSession, box: SecretBox, member_ids: Collection[str]
) -> dict[str, tuple[int, str]]:
    """``member_id → (portal id, application_token)`` of the active portals among ``member_ids``.

    One query for a whole batch of callbacks (the event intake's hot path). Uninstalled portals are left
    out (contract §6.4: their events are refused). Compare tokens with ``hmac.compare_digest`` (P8).
    """
    rows = await session.execute(_CALLBACK_IDENTITIES, {"member_ids": list(member_ids)})
    return {
        row.member_id: (
            row.id,
            box.open(row.application_token_sealed) if row.application_token_sealed else "",
        )
        for row in rows
    }


async def list_active(session: AsyncSession) -> list[PortalRecord]:
    """Every portal not uninstalled, by id."""
    rows = await session.scalars(
        select(Portal)
        .where(Portal.install_state != InstallState.UNINSTALLED)
        .order_by(Portal.id)
        .execution_options(populate_existing=True)
    )
    return [PortalRecord.of(row) for row in rows]


async def mark_install_finished(session: AsyncSession, member_id: str, now: datetime) -> None:
    """Setup succeeded: the portal is ``installed`` and its events and jobs are processed."""
    result = await session.execute(
        update(Portal)
        .where(Portal.member_id == member_id, Portal.install_state != InstallState.UNINSTALLED)
        .values(install_state=InstallState.INSTALLED, install_finished=True, updated_at=now)
        .returning(Portal.id)
    )
    if result.scalar() is None:
        raise PortalNotFound(member_id)


async def mark_uninstalled(session: AsyncSession, member_id: str, now: datetime) -> bool:
    """Record ``ONAPPUNINSTALL`` (contract §6.4); return whether an active portal was changed."""
    result = await session.execute(
        update(Portal)
        .where(Portal.member_id == member_id, Portal.install_state != InstallState.UNINSTALLED)
        .values(install_state=InstallState.UNINSTALLED, uninstalled_at=now, updated_at=now)
        .returning(Portal.id)
    )
    return result.scalar() is not None


async def purge(session: AsyncSession, member_id: str) -> bool:
    """Delete the portal and all it owns (lines, conversations, jobs...); return whether it existed."""
    result = await session.execute(delete(Portal).where(Portal.member_id == member_id).returning(Portal.id))
    return result.scalar() is not None


async def record_check(session: AsyncSession, portal_id: int, result: dict[str, Any], now: datetime) -> None:
    """Store the outcome of the periodic health check."""
    await session.execute(
        update(Portal)
        .where(Portal.id == portal_id)
        .values(last_check_at=now, last_check_result=result, updated_at=now)
    )
