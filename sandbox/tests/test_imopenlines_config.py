"""`imopenlines.config.*`: lines as the REST API shows them."""

from __future__ import annotations

import httpx
from sandbox.tests.conftest import EventReceiver, InstalledApp
from sandbox.tests.openlines_helpers import CONNECTOR, connect, error, ok, wait_decoded


def test_config_add_get_update(client: httpx.Client, installed_app: InstalledApp) -> None:
    line_id = ok(
        client, installed_app, "imopenlines.config.add", {"PARAMS": {"LINE_NAME": "Support", "ACTIVE": "N"}}
    )
    assert isinstance(line_id, int)
    got = ok(client, installed_app, "imopenlines.config.get", {"CONFIG_ID": line_id})
    assert (got["ID"], got["LINE_NAME"], got["ACTIVE"]) == (str(line_id), "Support", "N")
    params = {"CONFIG_ID": line_id, "PARAMS": {"ACTIVE": "Y", "LINE_NAME": "Help"}}
    assert ok(client, installed_app, "imopenlines.config.update", params) is True
    got = ok(client, installed_app, "imopenlines.config.get", {"CONFIG_ID": line_id})
    assert (got["LINE_NAME"], got["ACTIVE"]) == ("Help", "Y")
    assert [line["name"] for line in client.get("/_sandbox/lines").json()] == ["Sandbox line", "Help"]


def test_config_list_get_finds_active_lines(client: httpx.Client, installed_app: InstalledApp) -> None:
    ok(client, installed_app, "imopenlines.config.add", {"PARAMS": {"LINE_NAME": "Off", "ACTIVE": "N"}})
    every = ok(client, installed_app, "imopenlines.config.list.get", {})
    assert [(line["ID"], line["ACTIVE"]) for line in every] == [("1", "Y"), ("2", "N")]
    active = ok(client, installed_app, "imopenlines.config.list.get", {"PARAMS": {"filter": {"ACTIVE": "Y"}}})
    assert [line["LINE_NAME"] for line in active] == ["Sandbox line"]


def test_config_get_unknown(client: httpx.Client, installed_app: InstalledApp) -> None:
    status, body = error(client, installed_app, "imopenlines.config.get", {"CONFIG_ID": 99})
    assert (status, body["error"]) == (400, "CONFIG_NOT_FOUND")


def test_config_delete_fires_line_delete(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    line_id = ok(client, installed_app, "imopenlines.config.add", {"PARAMS": {"LINE_NAME": "Temp"}})
    connect(client, installed_app, line=line_id)
    assert ok(client, installed_app, "imopenlines.config.delete", {"CONFIG_ID": line_id}) is True
    [event] = wait_decoded(receiver, "ONIMCONNECTORLINEDELETE")
    assert event["data"] == str(line_id)
    [status] = wait_decoded(receiver, "ONIMCONNECTORSTATUSDELETE")
    assert status["data"] == {"connector": CONNECTOR, "line": str(line_id)}
