"""The test harness of the page tests: the bridge and the sandbox portal as the tests see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from tests.bitrix24.sandbox_peer import portal_install

from openline_bridge.crypto import SecretBox
from openline_bridge.services import Services
from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.portals import PortalRecord
from openline_bridge.store.types import utc_now


@dataclass
class Bridge:
    """The bridge under test: its base URL, services and an HTTP client to it."""

    url: str
    services: Services
    http: httpx.AsyncClient


@dataclass
class Portal:
    """The sandbox portal with our app installed and known to the bridge."""

    control: httpx.AsyncClient  # the sandbox control API (base URL …/_sandbox)
    installed: dict[str, Any]  # the sandbox's install answer: tokens, member_id, endpoints
    record: PortalRecord
    connector_id: str
    other_line: int  # a second line (line 1 is the sandbox's default)

    @property
    def origin(self) -> str:
        """The portal's origin, as a frame-ancestors source."""
        return str(self.installed["client_endpoint"]).removesuffix("/rest/")

    async def rest(self, method: str, params: dict[str, Any]) -> Any:
        """Call a REST method with the installer's token (as the install service would)."""
        response = await self.control.post(
            f"{self.installed['client_endpoint']}{method}.json",
            json={**params, "auth": self.installed["access_token"]},
        )
        response.raise_for_status()
        return response.json()["result"]

    async def calls(self, method: str) -> list[dict[str, Any]]:
        """The REST calls of ``method`` the sandbox received."""
        answer = (await self.control.get("/calls", params={"method": method})).json()
        calls: list[dict[str, Any]] = answer["calls"]
        return calls

    async def status_rows(self) -> list[dict[str, Any]]:
        """The sandbox's (connector, line) status rows of our connector."""
        rows = (await self.control.get("/connectors")).json()["statuses"]
        return [row for row in rows if row["connector"] == self.connector_id]


async def store_install(
    database: Database, box: SecretBox, installed: dict[str, Any], client_id: str
) -> PortalRecord:
    """Store the sandbox's install answer in the bridge's database, as the install service would."""
    install = portal_install(installed, client_id=client_id)
    async with database.transaction() as session:
        await portals.upsert_install(session, box, install, utc_now())
        await portals.mark_install_finished(session, install.member_id, utc_now())
        return await portals.get(session, install.member_id)
