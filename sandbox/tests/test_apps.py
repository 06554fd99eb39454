"""App installation (both variants), the events gate before installFinish, uninstall (contract §6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sandbox.tests.conftest import EventReceiver, InstalledApp, Received, RestCall, RunningSandbox

CheckWire = Callable[["Received", str], None]


def _create(client: httpx.Client, receiver: EventReceiver, *, api_only: bool) -> dict[str, Any]:
    response = client.post(
        "/_sandbox/apps",
        json={
            "name": "UI app",
            "install_url": f"{receiver.url}/install",
            "handler_url": f"{receiver.url}/handler",
            "api_only": api_only,
            "scope": "imopenlines,imconnector",
        },
    )
    assert response.status_code == 201
    app: dict[str, Any] = response.json()
    return app


def test_variant_a_posts_onappinstall(
    installed_app: InstalledApp, receiver: EventReceiver, check_wire: CheckWire, sandbox: RunningSandbox
) -> None:
    (install,) = receiver.wait_for(lambda r: r.path == "/install")
    assert install.method == "POST"
    assert install.headers["content-type"] == "application/x-www-form-urlencoded"
    check_wire(install, "ONAPPINSTALL__api_only")
    form = install.form
    assert form["auth[access_token]"] == installed_app.access_token
    assert form["auth[refresh_token]"] == installed_app.refresh_token
    assert form["auth[application_token]"] == installed_app.application_token
    assert form["auth[client_endpoint]"] == f"{sandbox.base_url}/rest/"


def test_install_returns_what_the_install_url_answered(client: httpx.Client, receiver: EventReceiver) -> None:
    receiver.status, receiver.response_body = 202, b"installed!"
    app = _create(client, receiver, api_only=True)
    answer = client.post(f"/_sandbox/apps/{app['client_id']}/install").json()
    assert (answer["status"], answer["body"], answer["error"]) == (202, "installed!", None)


def test_install_url_unreachable_is_reported(client: httpx.Client, sandbox: RunningSandbox) -> None:
    app = client.post("/_sandbox/apps", json={"install_url": "http://127.0.0.1:9/install"}).json()
    answer = client.post(f"/_sandbox/apps/{app['client_id']}/install").json()
    assert answer["status"] is None
    assert answer["error"].startswith("ConnectError")
    assert len(answer["access_token"]) == 32  # the app is installed all the same


def test_variant_b_posts_the_install_page_and_gates_events(
    client: httpx.Client,
    rest: RestCall,
    receiver: EventReceiver,
    check_wire: CheckWire,
    sandbox: RunningSandbox,
) -> None:
    app = _create(client, receiver, api_only=False)
    answer = client.post(f"/_sandbox/apps/{app['client_id']}/install").json()
    (page,) = receiver.wait_for(lambda r: r.path == "/install")
    check_wire(page, "INSTALL_PAGE__with_ui")
    assert page.query["DOMAIN"] == f"127.0.0.1:{sandbox.port}"
    assert page.query["PROTOCOL"] == "0"
    assert page.query["APP_SID"] == answer["app_sid"]
    assert page.form["APPLICATION_SCOPE"] == "imopenlines,imconnector"
    token = page.form["AUTH_ID"]

    assert (
        rest("event.bind", {"event": "OnAppTest", "handler": f"{receiver.url}/handler"}, auth=token).json()[
            "result"
        ]
        is True
    )
    assert rest("app.info", auth=token).json()["result"]["INSTALLED"] is False
    assert rest("event.test", auth=token).status_code == 200
    assert client.post("/_sandbox/events/drain").json() == {"drained": True}
    assert receiver.events("ONAPPTEST") == []  # contract §6.3: nothing before installFinish

    finished = client.post(
        f"/_sandbox/apps/{app['client_id']}/install-finish", params={"APP_SID": answer["app_sid"]}
    )
    assert finished.json()["install_finished"] is True
    assert rest("app.info", auth=token).json()["result"]["INSTALLED"] is True
    rest("event.test", auth=token)
    receiver.wait_event("ONAPPTEST")


def test_install_finish_by_app_sid_alone_and_wrong_sid(client: httpx.Client, receiver: EventReceiver) -> None:
    app = _create(client, receiver, api_only=False)
    sid = client.post(f"/_sandbox/apps/{app['client_id']}/install").json()["app_sid"]
    wrong = client.post(f"/_sandbox/apps/{app['client_id']}/install-finish", params={"APP_SID": "nope"})
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "WRONG_APP_SID"
    # bx24.js fallback: the frame knows only its APP_SID
    done = client.post("/_sandbox/apps/_/install-finish", params={"APP_SID": sid})
    assert done.json()["install_finished"] is True


def _connector(rest: RestCall, token: str, receiver: EventReceiver) -> None:
    registered = rest(
        "imconnector.register",
        {
            "ID": "sbxtest",
            "NAME": "Test",
            "ICON": {"DATA_IMAGE": "data:image/svg+xml;base64,PHN2Zz4="},
            "PLACEMENT_HANDLER": f"{receiver.url}/placement",
        },
        auth=token,
    )
    assert registered.status_code == 200, registered.text
    assert (
        rest("imconnector.activate", {"CONNECTOR": "sbxtest", "LINE": 1, "ACTIVE": 1}, auth=token).status_code
        == 200
    )


def test_uninstall_order_and_tokenless_onappuninstall(
    client: httpx.Client,
    rest: RestCall,
    installed_app: InstalledApp,
    receiver: EventReceiver,
    check_wire: CheckWire,
) -> None:
    token = installed_app.access_token
    _connector(rest, token, receiver)
    for event in ("OnImConnectorStatusDelete", "OnAppUninstall"):
        assert (
            rest("event.bind", {"event": event, "handler": installed_app.handler_url}, auth=token).status_code
            == 200
        )

    uninstalled = client.post(f"/_sandbox/apps/{installed_app.client_id}/uninstall", json={"clean": True})
    assert uninstalled.json()["installed"] is False
    (goodbye,) = receiver.wait_event("ONAPPUNINSTALL")
    check_wire(goodbye, "ONAPPUNINSTALL__tokenless")
    assert goodbye.form["auth[application_token]"] == installed_app.application_token
    receiver.wait_event("ONIMCONNECTORSTATUSDELETE")
    deliveries = client.get("/_sandbox/events/deliveries").json()["deliveries"]
    # contract §6.4: connectors (and their statuses) go first, then ONAPPUNINSTALL
    assert [d["event"] for d in sorted(deliveries, key=lambda d: d["id"])] == [
        "ONIMCONNECTORSTATUSDELETE",
        "ONAPPUNINSTALL",
    ]
    assert rest("profile", auth=token).json()["error"] == "invalid_token"
    assert client.get("/_sandbox/events/bindings").json()["bindings"] == []


def test_uninstall_not_installed_is_409(client: httpx.Client, receiver: EventReceiver) -> None:
    app = _create(client, receiver, api_only=True)
    response = client.post(f"/_sandbox/apps/{app['client_id']}/uninstall")
    assert response.status_code == 409
    assert response.json()["error"] == "NOT_INSTALLED"
