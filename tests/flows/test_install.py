"""Installing the app (contract §6): both variants, re-installs, stale handlers, forged re-installs.

Everything goes over real HTTP: the sandbox posts the install to the bridge's ``/b24/install``, the
bridge calls the sandbox's REST API back, and the outcome is read from the sandbox control API and the
bridge's database.
"""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from tests.bitrix24.sandbox_peer import SandboxProcess
from tests.lifecycle.bridge_peer import (
    BRIDGE_EVENTS,
    RunningBridge,
    bindings_of,
    create_sandbox_app,
    install,
    rest,
    wait_for,
)
from tests.lifecycle.fixtures import Installed

from openline_bridge.store import portals
from openline_bridge.store.database import Database
from openline_bridge.store.models import InstallState, Portal


async def _connector_of(control: httpx.AsyncClient, connector_id: str) -> dict[str, object]:
    connectors = (await control.get("/connectors")).json()["connectors"]
    found = [connector for connector in connectors if connector["id"] == connector_id]
    assert len(found) == 1, connectors
    connector: dict[str, object] = found[0]
    return connector


async def _assert_set_up(control: httpx.AsyncClient, bridge: RunningBridge, client_id: str) -> None:
    connector = await _connector_of(control, bridge.settings.connector_id)
    assert connector["placement_handler"] == f"{bridge.url}/b24/settings"
    assert str(connector["icon"]).find("data:image/svg+xml,") >= 0
    assert await bindings_of(control, client_id) == sorted(
        (event, bridge.events_url) for event in BRIDGE_EVENTS
    )


async def test_variant_a_registers_the_connector_and_binds_each_event_once(
    control: httpx.AsyncClient, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    assert installed.answer["body"].startswith("{")
    await _assert_set_up(control, bridge, installed.client_id)
    async with database.transaction() as session:
        portal = await portals.get(session, installed.answer["member_id"])
        row = await session.scalar(select(Portal).where(Portal.member_id == portal.member_id))
    assert portal.install_state is InstallState.INSTALLED
    assert portal.client_endpoint == installed.answer["client_endpoint"]
    assert portal.client_id == installed.client_id
    assert row is not None
    # Tokens are sealed at rest, never stored as given.
    stored = f"{row.access_token_sealed} {row.refresh_token_sealed} {row.application_token_sealed}"
    for secret in ("access_token", "refresh_token", "application_token"):
        assert installed.answer[secret] not in stored


async def test_variant_b_page_finishes_the_install_through_bx24(
    control: httpx.AsyncClient, bridge: RunningBridge, database: Database, sandbox: SandboxProcess
) -> None:
    app = await create_sandbox_app(control, bridge, api_only=False)
    answer = await install(control, app["client_id"])
    assert answer["status"] == 200, answer["body"]
    page = answer["body"]
    assert f'<script src="{sandbox.base_url}/bx24.js"></script>' in page
    assert "BX24.installFinish()" in page
    assert 'data-result="installed"' in page
    await _assert_set_up(control, bridge, app["client_id"])
    apps = (await control.get("/apps")).json()
    assert [a["install_finished"] for a in apps if a["client_id"] == app["client_id"]] == [False]
    # What BX24.installFinish() does in the frame, done through the control API as the page would.
    finished = await control.post(
        f"/apps/{app['client_id']}/install-finish", params={"APP_SID": answer["app_sid"]}
    )
    assert finished.json()["install_finished"] is True
    async with database.transaction() as session:
        portal = await portals.get(session, answer["member_id"])
    assert portal.install_state is InstallState.INSTALLED


async def test_variant_b_page_speaks_russian_and_allows_only_the_portal_to_frame_it(
    control: httpx.AsyncClient, bridge: RunningBridge
) -> None:
    app = await create_sandbox_app(control, bridge, api_only=False)
    installed = await install(control, app["client_id"])
    origin = installed["client_endpoint"].removesuffix("/rest/")
    response = await bridge.http.post(
        "/b24/install",
        params={
            "DOMAIN": installed["domain"],
            "PROTOCOL": "0",
            "LANG": "ru",
            "APP_SID": installed["app_sid"],
        },
        data={
            "AUTH_ID": installed["access_token"],
            "AUTH_EXPIRES": "3600",
            "REFRESH_ID": installed["refresh_token"],
            "SERVER_ENDPOINT": installed["server_endpoint"],
            "APPLICATION_TOKEN": installed["application_token"],
            "member_id": installed["member_id"],
            "status": "L",
            "PLACEMENT": "DEFAULT",
        },
    )
    assert response.status_code == 200
    assert "установка" in response.text
    policy = response.headers["content-security-policy"]
    assert f"frame-ancestors {origin}" in policy
    assert re.search(r"script-src 'nonce-[^']+' http://127\.0\.0\.1:\d+", policy)


async def test_reinstall_keeps_one_handler_per_event_and_removes_stale_ones(
    control: httpx.AsyncClient, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    # A handler of ours at an old URL form (trailing slash) and one at an old path (pitfalls P6, P9).
    await rest(
        installed.answer,
        "event.bind",
        {"event": "OnImConnectorMessageAdd", "handler": bridge.events_url + "/"},
    )
    await rest(
        installed.answer, "event.bind", {"event": "OnAppUninstall", "handler": f"{bridge.url}/old/b24/events"}
    )
    again = await install(control, installed.client_id)
    assert again["status"] == 200, again["body"]
    assert again["application_token"] != installed.answer["application_token"]  # Bitrix24 issued a new one
    await _assert_set_up(control, bridge, installed.client_id)
    async with database.transaction() as session:
        assert await portals.verify_application_token(
            session, bridge.services.secret_box, again["member_id"], again["application_token"]
        )
    # A third install with nothing stale changes nothing either.
    third = await install(control, installed.client_id)
    assert third["status"] == 200
    await _assert_set_up(control, bridge, installed.client_id)


async def test_forged_reinstall_of_a_known_portal_is_refused(
    bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    answer = installed.answer
    forged = {
        "event": "ONAPPINSTALL",
        "ts": "1773759161",
        "data[VERSION]": "1",
        "auth[member_id]": answer["member_id"],
        "auth[domain]": "evil.example",
        "auth[client_endpoint]": "http://127.0.0.1:9/rest/",
        "auth[server_endpoint]": "http://127.0.0.1:9/rest/",
        "auth[access_token]": "forged-access",
        "auth[refresh_token]": "forged-refresh",
        "auth[application_token]": "forged-application-token",
    }
    for path in ("/b24/install", "/b24/events"):
        response = await bridge.http.post(path, data=forged)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "install_not_verified"
    async with database.transaction() as session:
        portal = await portals.get(session, answer["member_id"])
        genuine = await portals.verify_application_token(
            session, bridge.services.secret_box, answer["member_id"], answer["application_token"]
        )
    assert portal.client_endpoint == answer["client_endpoint"]
    assert genuine


async def test_install_of_an_unconfigured_application_is_refused(
    control: httpx.AsyncClient, bridge: RunningBridge, database: Database
) -> None:
    (await control.post("/reset")).raise_for_status()
    created = await control.post(
        "/apps",
        json={
            "client_id": "local.someoneelse01",
            "install_url": f"{bridge.url}/b24/install",
            "api_only": True,
        },
    )
    created.raise_for_status()
    answer = await install(control, "local.someoneelse01")
    assert answer["status"] == 403
    assert '"unknown_application"' in answer["body"]
    async with database.transaction() as session:
        assert await portals.find(session, answer["member_id"], include_uninstalled=True) is None


async def test_reinstall_arriving_as_an_event_is_an_install(
    control: httpx.AsyncClient, bridge: RunningBridge, installed: Installed, database: Database
) -> None:
    # A binding went missing; the re-install (as Bitrix24 may post it to the events URL) restores it.
    await rest(
        installed.answer, "event.unbind", {"event": "OnImConnectorDialogStart", "handler": bridge.events_url}
    )
    answer = installed.answer
    body = {
        "event": "ONAPPINSTALL",
        "ts": "1773759161",
        "data[VERSION]": "1",
        "auth[member_id]": answer["member_id"],
        "auth[domain]": answer["domain"],
        "auth[client_endpoint]": answer["client_endpoint"],
        "auth[server_endpoint]": answer["server_endpoint"],
        "auth[access_token]": answer["access_token"],
        "auth[refresh_token]": answer["refresh_token"],
        "auth[expires_in]": "3600",
        "auth[application_token]": answer["application_token"],
    }
    response = await bridge.http.post("/b24/events", data=body)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "installed"
    await wait_for(lambda: _bound(control, installed.client_id, bridge))


async def _bound(control: httpx.AsyncClient, client_id: str, bridge: RunningBridge) -> bool:
    return await bindings_of(control, client_id) == sorted(
        (event, bridge.events_url) for event in BRIDGE_EVENTS
    )


async def test_install_page_without_tokens_explains_and_stores_nothing(
    bridge: RunningBridge, database: Database
) -> None:
    response = await bridge.http.post(
        "/b24/install",
        params={"DOMAIN": "portal.example.com", "PROTOCOL": "1", "LANG": "en"},
        data={"member_id": "b" * 32, "PLACEMENT": "DEFAULT"},
    )
    assert response.status_code == 400
    assert 'data-result="failed"' in response.text
    assert "AUTH_ID" in response.text
    assert "installFinish" not in response.text
    assert "frame-ancestors https://portal.example.com" in response.headers["content-security-policy"]
    async with database.transaction() as session:
        assert await portals.find(session, "b" * 32, include_uninstalled=True) is None
