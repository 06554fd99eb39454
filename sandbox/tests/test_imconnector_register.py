"""`imconnector.register` / `unregister` / `list` over real HTTP (contract §8.1, §8.2, §8.6, §14 #1, #15)."""

from __future__ import annotations

import httpx
import pytest
from sandbox.tests.conftest import InstalledApp
from sandbox.tests.openlines_helpers import CONNECTOR, ICON, error, ok, register, rest

FULL = {"ID": "myconn", "NAME": "My", "ICON": ICON, "PLACEMENT_HANDLER": "https://example.com/settings"}


def _set_variants(client: httpx.Client, **variants: object) -> None:
    response = client.put("/_sandbox/faults", json={"variants": variants})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("params", "code"),
    [
        # contract §8.1: the point check comes first, even with everything else missing.
        ({"ID": "a.b"}, "APPLICATION_REGISTRATION_ERROR_POINT"),
        ({**FULL, "ID": ""}, "CONNECTOR_ID_REQUIRED"),
        ({"ID": "x", "PLACEMENT_HANDLER": "https://e"}, "NAME_REQUIRED"),
        ({**FULL, "ICON": {"COLOR": "#fff"}}, "ICON_REQUIRED"),
        ({**FULL, "PLACEMENT_HANDLER": ""}, "NO_PLACEMENT_HANDLER"),
    ],
)
def test_register_failures_are_http_200_unwrapped(
    client: httpx.Client, installed_app: InstalledApp, params: dict[str, object], code: str
) -> None:
    response = rest(client, installed_app, "imconnector.register", params)
    assert response.status_code == 200
    body = response.json()
    assert body["result"] is False and body["error"] == code and body["error_description"]
    assert "time" not in body


def test_register_failure_docs_shape_is_nested(client: httpx.Client, installed_app: InstalledApp) -> None:
    _set_variants(client, register_failure_shape="docs")
    response = rest(client, installed_app, "imconnector.register", {"ID": "a.b"})
    assert response.status_code == 200
    body = response.json()
    assert body["result"]["result"] is False
    assert body["result"]["error"] == "APPLICATION_REGISTRATION_ERROR_POINT"
    assert "error" not in body


def test_register_lowercases_and_reregister_updates(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    register(client, installed_app, "MyConn")
    register(client, installed_app, "myconn", NAME="Renamed", CHAT_GROUP="Y")
    listed = ok(client, installed_app, "imconnector.list", {})
    assert listed["myconn"] == "Renamed"
    assert "MyConn" not in listed and listed["livechat"] == "Live Chat"
    connectors = client.get("/_sandbox/connectors").json()["connectors"]
    assert [(c["id"], c["flags"]["CHAT_GROUP"], c["client_id"]) for c in connectors] == [
        ("myconn", True, installed_app.client_id)
    ]


def test_register_accepts_json_bool_and_yn_flags(client: httpx.Client, installed_app: InstalledApp) -> None:
    register(client, installed_app, NEED_SIGNATURE=False, EDIT_INTERNAL_MESSAGES="N", CHAT_GROUP=True)
    flags = client.get("/_sandbox/connectors").json()["connectors"][0]["flags"]
    assert flags["NEED_SIGNATURE"] is False and flags["EDIT_INTERNAL_MESSAGES"] is False
    assert flags["CHAT_GROUP"] is True and flags["DEL_INTERNAL_MESSAGES"] is True


def test_unregister_without_status_row_fails_by_default(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    register(client, installed_app)
    response = rest(client, installed_app, "imconnector.unregister", {"ID": CONNECTOR})
    assert response.status_code == 200
    assert response.json()["error"] == "APPLICATION_UNREGISTRATION_ERROR"
    _set_variants(client, unregister_needs_status_row=False)
    assert ok(client, installed_app, "imconnector.unregister", {"ID": CONNECTOR}) == {"result": True}
    assert CONNECTOR not in ok(client, installed_app, "imconnector.list", {})


def test_unregister_after_status_removes_connector(client: httpx.Client, installed_app: InstalledApp) -> None:
    register(client, installed_app)
    ok(client, installed_app, "imconnector.status", {"CONNECTOR": CONNECTOR, "LINE": 1})
    assert ok(client, installed_app, "imconnector.unregister", {"ID": CONNECTOR}) == {"result": True}
    state = client.get("/_sandbox/connectors").json()
    assert state == {"connectors": [], "statuses": []}


def test_unregister_unknown_id(client: httpx.Client, installed_app: InstalledApp) -> None:
    status, body = error(client, installed_app, "imconnector.unregister", {"ID": "nope"})
    assert status == 200 and body["result"] is False and body["error"] == "APPLICATION_UNREGISTRATION_ERROR"
