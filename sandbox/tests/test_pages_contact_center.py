"""The Contact Center over real HTTP: lines × connectors, line creation, the settings slider (§10)."""

from __future__ import annotations

import html
import json
import re

import httpx
from sandbox.tests.conftest import EventReceiver, InstalledApp
from sandbox.tests.openlines_helpers import CONNECTOR, connect, register

SLIDER = "/contact_center/connector/"


def _hidden_fields(page: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return {html.unescape(k): html.unescape(v) for k, v in pairs}


def test_grid_shows_each_line_and_connector_state(client: httpx.Client, installed_app: InstalledApp) -> None:
    empty = client.get("/contact_center/")
    assert empty.status_code == 200
    assert "No connector is registered yet" in empty.text

    connect(client, installed_app, line=1)
    created = client.post("/contact_center/lines", data={"name": "Support <EU>"})
    assert created.status_code == 303
    assert client.get("/_sandbox/lines").json()[-1]["name"] == "Support <EU>"

    page = client.get("/contact_center/").text
    assert "Support &lt;EU&gt;" in page
    cells = re.findall(r'<td data-connector="testconn" data-line="(\d+)">(.*?)</td>', page, re.S)
    assert [line for line, _ in cells] == ["1", "2"]
    assert "connected" in cells[0][1] and f'href="{SLIDER}?ID=testconn&amp;LINE=1"' in cells[0][1]
    assert "not connected" in cells[1][1] and ">Connect</a>" in cells[1][1]


def test_line_name_is_required(client: httpx.Client) -> None:
    refused = client.post("/contact_center/lines", data={"name": "  "})
    assert refused.status_code == 303
    assert "error=" in refused.headers["location"]
    assert len(client.get("/_sandbox/lines").json()) == 1


def test_slider_posts_the_setting_connector_form_into_its_frame(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app, line=1)
    page = client.get(SLIDER, params={"ID": CONNECTOR, "LINE": 1})
    assert page.status_code == 200
    action = re.search(r'<form id="frame-post" method="post" target="app-frame" action="([^"]*)"', page.text)
    assert action is not None
    assert html.unescape(action.group(1)).startswith(f"{installed_app.handler_url}/settings?DOMAIN=")
    fields = _hidden_fields(page.text)
    assert fields["PLACEMENT"] == "SETTING_CONNECTOR"
    assert fields["APPLICATION_TOKEN"] == installed_app.application_token
    options = json.loads(fields["PLACEMENT_OPTIONS"])
    assert options["LINE"] == "1" and options["STATUS"] is True
    assert '<iframe name="app-frame"' in page.text

    picker = client.get(SLIDER, params={"ID": CONNECTOR})
    assert picker.status_code == 200
    assert "?ID=testconn&amp;LINE=1" in picker.text


def test_slider_hidden_until_installation_finished(client: httpx.Client, receiver: EventReceiver) -> None:
    app = client.post(
        "/_sandbox/apps", json={"install_url": f"{receiver.url}/install", "api_only": False}
    ).json()
    installed = client.post(f"/_sandbox/apps/{app['client_id']}/install").json()
    params = {
        "ID": CONNECTOR,
        "NAME": "UI",
        "ICON": {"DATA_IMAGE": "data:,"},
        "PLACEMENT_HANDLER": receiver.url,
    }
    client.post("/rest/imconnector.register.json", json={**params, "auth": installed["access_token"]})

    page = client.get("/contact_center/").text
    assert "installation not finished" in page
    assert f'href="{SLIDER}' not in page
    hidden = client.get(SLIDER, params={"ID": CONNECTOR, "LINE": 1})
    assert hidden.status_code == 409
    assert 'name="AUTH_ID"' not in hidden.text


def test_unknown_connector_or_line_is_a_404_page(client: httpx.Client, installed_app: InstalledApp) -> None:
    register(client, installed_app)
    for params in (
        {"ID": "nope", "LINE": "1"},
        {"ID": CONNECTOR, "LINE": "9"},
        {"ID": CONNECTOR, "LINE": "x"},
        {},
    ):
        response = client.get(SLIDER, params=params)
        assert response.status_code == 404, params
        assert response.headers["content-type"].startswith("text/html")
