"""The Apps page over real HTTP: register, install (both variants), uninstall with CLEAN, open."""

from __future__ import annotations

import html
import re

import httpx
from sandbox.tests.conftest import EventReceiver
from sandbox.tests.openlines_helpers import wait_decoded


def _register(client: httpx.Client, receiver: EventReceiver, kind: str = "api") -> dict[str, object]:
    answer = client.post(
        "/apps/",
        data={
            "name": "Bridge <dev>",
            "install_url": f"{receiver.url}/install",
            "handler_url": f"{receiver.url}/app",
            "scope": "imopenlines, imconnector placement",
            "kind": kind,
        },
    )
    assert answer.status_code == 303
    assert "notice=" in answer.headers["location"]
    (app,) = client.get("/_sandbox/apps").json()
    return dict(app)


def test_register_and_list(client: httpx.Client, receiver: EventReceiver) -> None:
    app = _register(client, receiver)
    assert app["scope"] == ["imopenlines", "imconnector", "placement"]
    assert app["api_only"] is True
    page = client.get("/apps/")
    assert page.status_code == 200
    assert "Bridge &lt;dev&gt;" in page.text
    assert 'data-state="not-installed"' in page.text

    refused = client.post("/apps/", data={"name": "x", "install_url": "ftp://nope"})
    assert refused.status_code == 303
    assert "error=" in refused.headers["location"]
    assert len(client.get("/_sandbox/apps").json()) == 1


def test_install_api_only_then_uninstall_clean(client: httpx.Client, receiver: EventReceiver) -> None:
    app = _register(client, receiver)
    installed = client.post(f"/apps/{app['client_id']}/install")
    assert installed.status_code == 303
    (install,) = wait_decoded(receiver, "ONAPPINSTALL")
    assert install["auth"]["refresh_token"]
    assert 'data-state="installed"' in client.get("/apps/").text

    token = install["auth"]["access_token"]
    bound = client.post(
        "/rest/event.bind.json",
        json={"event": "OnAppUninstall", "handler": f"{receiver.url}/bye", "auth": token},
    )
    assert bound.json()["result"] is True
    assert client.post(f"/apps/{app['client_id']}/uninstall", data={"clean": "1"}).status_code == 303
    (bye,) = wait_decoded(receiver, "ONAPPUNINSTALL")
    assert bye["data"] == {"LANGUAGE_ID": "en", "CLEAN": "1"}
    assert 'data-state="not-installed"' in client.get("/apps/").text
    assert client.post(f"/apps/{app['client_id']}/uninstall").status_code == 409


def test_open_posts_default_placement_into_a_frame(client: httpx.Client, receiver: EventReceiver) -> None:
    app = _register(client, receiver)
    assert client.get(f"/apps/{app['client_id']}/open").status_code == 409
    client.post(f"/apps/{app['client_id']}/install")
    page = client.get(f"/apps/{app['client_id']}/open")
    assert page.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text))
    assert fields["PLACEMENT"] == "DEFAULT"
    assert "PLACEMENT_OPTIONS" not in fields
    assert fields["APPLICATION_TOKEN"] == client.get("/_sandbox/apps").json()[0]["application_token"]
    action = re.search(r'target="app-frame" action="([^"]*)"', page.text)
    assert action is not None and html.unescape(action.group(1)).startswith(f"{receiver.url}/app?DOMAIN=")


def test_with_ui_install_goes_to_the_install_frame(client: httpx.Client, receiver: EventReceiver) -> None:
    app = _register(client, receiver, kind="ui")
    answer = client.post(f"/apps/{app['client_id']}/install")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/apps/{app['client_id']}/install"
    frame = client.get(answer.headers["location"])
    assert frame.status_code == 200
    assert "/install-finish?APP_SID=" in frame.text
    assert 'data-state="installing"' in client.get("/apps/").text
    # contract §6.3: until installFinish the app's page is the install page again.
    reopened = client.get(f"/apps/{app['client_id']}/open")
    assert reopened.status_code == 303
    assert reopened.headers["location"].endswith("/install")


def test_unknown_app_pages_are_404(client: httpx.Client) -> None:
    for response in (
        client.post("/apps/nope/install"),
        client.post("/apps/nope/uninstall"),
        client.get("/apps/nope/open"),
        client.get("/apps/nope/install"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
