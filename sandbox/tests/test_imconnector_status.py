"""Connector state per line: activate, status, data.set, set.error (contract §8.3-§8.5, §8.13, §9.5)."""

from __future__ import annotations

import httpx
import pytest
from sandbox.tests.conftest import EventReceiver, InstalledApp, install_app
from sandbox.tests.openlines_helpers import (
    CONNECTOR,
    assert_fixture,
    bind,
    error,
    events_at,
    ok,
    register,
    settle,
    wait_decoded,
)


def _status(client: httpx.Client, app: InstalledApp, line: int = 1) -> dict[str, object]:
    result: dict[str, object] = ok(client, app, "imconnector.status", {"CONNECTOR": CONNECTOR, "LINE": line})
    return result


def _rows(client: httpx.Client) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = client.get("/_sandbox/connectors").json()["statuses"]
    return rows


def test_status_creates_row_with_all_flags_off(client: httpx.Client, installed_app: InstalledApp) -> None:
    register(client, installed_app)
    assert _rows(client) == []
    assert _status(client, installed_app, 7) == {
        "LINE": 7,
        "CONNECTOR": CONNECTOR,
        "ERROR": False,
        "CONFIGURED": False,
        "STATUS": False,
    }
    assert [(r["line"], r["active"], r["error"]) for r in _rows(client)] == [(7, False, False)]


def test_status_without_line_means_line_zero(client: httpx.Client, installed_app: InstalledApp) -> None:
    result = ok(client, installed_app, "imconnector.status", {"CONNECTOR": CONNECTOR})
    assert result["LINE"] == 0 and result["STATUS"] is False


@pytest.mark.parametrize("active", [1, "1", "Y", "N", True])
def test_activate_with_php_non_empty_value(
    client: httpx.Client, installed_app: InstalledApp, active: object
) -> None:
    register(client, installed_app)
    assert ok(
        client, installed_app, "imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": active}
    )
    assert (
        _status(client, installed_app)["STATUS"] is True
    )  # contract §8.3: "N" is non-empty, so it activates


@pytest.mark.parametrize("inactive", [0, "0", "", False])
def test_deactivate_deletes_row_and_fires_status_delete(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver, inactive: object
) -> None:
    register(client, installed_app)
    bind(client, installed_app, "OnImConnectorStatusDelete")
    ok(client, installed_app, "imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": 1})
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": inactive}
    assert ok(client, installed_app, "imconnector.activate", params) is True
    assert _rows(client) == []
    [event] = wait_decoded(receiver, "ONIMCONNECTORSTATUSDELETE")
    assert_fixture(event, "deactivate")


def test_deactivate_without_row_returns_false(client: httpx.Client, installed_app: InstalledApp) -> None:
    params = {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": 0}
    assert ok(client, installed_app, "imconnector.activate", params) is False


@pytest.mark.parametrize(
    ("params", "argument"),
    [
        ({"LINE": 1, "ACTIVE": 1}, "CONNECTOR"),
        ({"CONNECTOR": CONNECTOR, "ACTIVE": 1}, "LINE"),
        ({"CONNECTOR": CONNECTOR, "LINE": 1}, "ACTIVE"),
    ],
)
def test_activate_argument_errors(
    client: httpx.Client, installed_app: InstalledApp, params: dict[str, object], argument: str
) -> None:
    status, body = error(client, installed_app, "imconnector.activate", params)
    assert status == 400
    assert body == {
        "error": "ERROR_ARGUMENT",
        "error_description": f"Argument '{argument}' is null or empty",
        "argument": argument,
    }


def test_status_delete_goes_only_to_the_owning_app(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    other = install_app(client, receiver, "2")
    assert ok(
        client, other, "event.bind", {"event": "OnImConnectorStatusDelete", "handler": other.handler_url}
    )
    register(client, installed_app)
    bind(client, installed_app, "OnImConnectorStatusDelete")
    ok(client, installed_app, "imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": 1})
    ok(client, installed_app, "imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": 0})
    wait_decoded(receiver, "ONIMCONNECTORSTATUSDELETE")
    settle(client)
    assert events_at(receiver, "/handler2", "ONIMCONNECTORSTATUSDELETE") == []
    assert len(events_at(receiver, "/handler", "ONIMCONNECTORSTATUSDELETE")) == 1


def test_data_set_merges_non_empty_keys(client: httpx.Client, installed_app: InstalledApp) -> None:
    base = {"CONNECTOR": CONNECTOR, "LINE": 1}
    ok(
        client,
        installed_app,
        "imconnector.connector.data.set",
        {**base, "DATA": {"ID": "ch-1", "URL": "https://a"}},
    )
    ok(
        client,
        installed_app,
        "imconnector.connector.data.set",
        {**base, "DATA": {"name": "Support", "URL": ""}},
    )
    assert _rows(client)[0]["data"] == {"id": "ch-1", "url": "https://a", "name": "Support"}
    # contract §14 #2: data.set stores data only; the flags come from activate.
    assert _status(client, installed_app)["CONFIGURED"] is False


def test_data_set_overwrite_variant(client: httpx.Client, installed_app: InstalledApp) -> None:
    assert (
        client.put("/_sandbox/faults", json={"variants": {"data_set_mode": "overwrite"}}).status_code == 200
    )
    base = {"CONNECTOR": CONNECTOR, "LINE": 1}
    ok(
        client,
        installed_app,
        "imconnector.connector.data.set",
        {**base, "DATA": {"ID": "ch-1", "URL": "https://a"}},
    )
    ok(client, installed_app, "imconnector.connector.data.set", {**base, "DATA": {"NAME": "Support"}})
    assert _rows(client)[0]["data"] == {"name": "Support"}


def test_data_set_requires_data(client: httpx.Client, installed_app: InstalledApp) -> None:
    status, body = error(
        client, installed_app, "imconnector.connector.data.set", {"CONNECTOR": CONNECTOR, "LINE": 1}
    )
    assert (status, body["error"], body["argument"]) == (400, "ERROR_ARGUMENT", "DATA")


def test_set_error_turns_status_off_until_reactivated(
    client: httpx.Client, installed_app: InstalledApp
) -> None:
    register(client, installed_app)
    ok(client, installed_app, "imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": 1})
    result = ok(client, installed_app, "imconnector.set.error", {"CONNECTOR": CONNECTOR, "LINE": 1})
    assert result == {"SUCCESS": True, "DATA": []}
    assert _status(client, installed_app) == {
        "LINE": 1,
        "CONNECTOR": CONNECTOR,
        "ERROR": True,
        "CONFIGURED": True,
        "STATUS": False,
    }
    ok(client, installed_app, "imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": 1})
    assert _status(client, installed_app)["STATUS"] is True


def test_set_error_needs_a_registered_connector(client: httpx.Client, installed_app: InstalledApp) -> None:
    status, body = error(client, installed_app, "imconnector.set.error", {"CONNECTOR": "ghost", "LINE": 1})
    assert (status, body["error"]) == (400, "IMCONNECTOR_NO_CORRECT_PROVIDER")
