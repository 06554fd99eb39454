"""Control API `/_sandbox/placements/open` and `/_sandbox/apps/{id}/open`: the frame POSTs of contract
§10 (`SETTING_CONNECTOR`) and §6.3 (`PLACEMENT=DEFAULT`), checked at a receiving handler."""

from __future__ import annotations

import json

import httpx
from sandbox.tests.conftest import EventReceiver, InstalledApp
from sandbox.tests.openlines_helpers import CONNECTOR, connect, ok, register

# contract §10: query string and form body of the SETTING_CONNECTOR POST.
QUERY_KEYS = ["APP_SID", "DOMAIN", "LANG", "PROTOCOL"]
FORM_KEYS = [
    "APPLICATION_SCOPE",
    "APPLICATION_TOKEN",
    "AUTH_EXPIRES",
    "AUTH_ID",
    "PLACEMENT",
    "PLACEMENT_OPTIONS",
    "REFRESH_ID",
    "SERVER_ENDPOINT",
    "member_id",
    "status",
]
OPTION_KEYS = [
    "ACTIVE_STATUS",
    "CONNECTION_STATUS",
    "CONNECTOR",
    "ERROR_STATUS",
    "LINE",
    "REGISTER_STATUS",
    "STATUS",
    "URI",
]


def _connector(handler: str) -> dict[str, object]:
    """`imconnector.register` parameters of the test connector with another settings handler."""
    return {"ID": CONNECTOR, "NAME": "Test", "ICON": {"DATA_IMAGE": "data:,"}, "PLACEMENT_HANDLER": handler}


def _open(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/_sandbox/placements/open", json={"connector": CONNECTOR, "line": 1, **body})


def test_setting_connector_post_has_exactly_the_contract_fields(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    register(client, installed_app)
    receiver.response_body = b"<html>settings</html>"
    answer = _open(client, lang="de")
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["status"] == 200
    assert out["body"] == "<html>settings</html>"
    assert "content-length" in out["headers"]

    (posted,) = receiver.wait_for(lambda r: r.path == "/handler/settings")
    assert posted.method == "POST"
    assert posted.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sorted(posted.query) == QUERY_KEYS
    host = client.base_url.netloc.decode()
    assert posted.query["DOMAIN"] == host
    assert posted.query["PROTOCOL"] == "0"
    assert posted.query["LANG"] == "de"
    assert len(posted.query["APP_SID"]) == 32
    form = posted.form
    assert sorted(k for k, _ in posted.pairs) == FORM_KEYS
    assert form["PLACEMENT"] == "SETTING_CONNECTOR"
    assert form["APPLICATION_TOKEN"] == installed_app.application_token
    assert form["member_id"] == installed_app.member_id
    assert form["status"] == "L"
    assert form["AUTH_EXPIRES"] == "3600"
    assert form["SERVER_ENDPOINT"] == f"http://{host}/rest/"
    assert form["APPLICATION_SCOPE"] == "imopenlines,imconnector,im,placement"
    # contract §10: PHP's json_encode escapes "/" in URI.
    assert (
        '"URI":"\\/contact_center\\/connector\\/?ID=testconn&IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER"'
        in (form["PLACEMENT_OPTIONS"])
    )
    options = json.loads(form["PLACEMENT_OPTIONS"])
    assert sorted(options) == OPTION_KEYS
    assert options["CONNECTOR"] == CONNECTOR
    assert options["LINE"] == "1"
    assert not any(options[k] for k in OPTION_KEYS if k.endswith("STATUS"))
    assert out["request"]["form"] == form

    # AUTH_ID and REFRESH_ID are a fresh, working token pair of the admin for the connector's app.
    assert form["AUTH_ID"] != installed_app.access_token
    profile = client.post("/rest/profile.json", json={"auth": form["AUTH_ID"]}).json()
    assert profile["result"]["ADMIN"] is True
    refreshed = client.get(
        "/oauth/token/",
        params={
            "grant_type": "refresh_token",
            "client_id": installed_app.client_id,
            "client_secret": installed_app.client_secret,
            "refresh_token": form["REFRESH_ID"],
        },
    )
    assert refreshed.status_code == 200, refreshed.text


def test_placement_options_follow_the_status_flags(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    connect(client, installed_app, line=1)
    _open(client).raise_for_status()
    first = json.loads(
        receiver.wait_for(lambda r: r.path == "/handler/settings")[0].form["PLACEMENT_OPTIONS"]
    )
    assert [first[k] for k in ("ACTIVE_STATUS", "CONNECTION_STATUS", "REGISTER_STATUS", "ERROR_STATUS")] == [
        True,
        True,
        True,
        False,
    ]
    assert first["STATUS"] is True

    ok(client, installed_app, "imconnector.set.error", {"CONNECTOR": CONNECTOR, "LINE": 1})
    _open(client).raise_for_status()
    posts = receiver.wait_for(lambda r: r.path == "/handler/settings", count=2)
    second = json.loads(posts[1].form["PLACEMENT_OPTIONS"])
    assert second["ERROR_STATUS"] is True
    assert second["STATUS"] is False


def test_refused_before_installation_finished(client: httpx.Client, receiver: EventReceiver) -> None:
    created = client.post(
        "/_sandbox/apps",
        json={
            "install_url": f"{receiver.url}/install",
            "handler_url": f"{receiver.url}/app",
            "api_only": False,
        },
    ).json()
    installed = client.post(f"/_sandbox/apps/{created['client_id']}/install").json()
    registered = client.post(
        "/rest/imconnector.register.json",
        json={**_connector(f"{receiver.url}/s"), "auth": installed["access_token"]},
    )
    assert registered.json()["result"] == {"result": True}

    refused = _open(client)
    assert refused.status_code == 409
    assert refused.json()["error"] == "PLACEMENT_HIDDEN"
    app_refused = client.post(f"/_sandbox/apps/{created['client_id']}/open")
    assert app_refused.status_code == 409

    finish = client.post(
        f"/_sandbox/apps/{created['client_id']}/install-finish", params={"APP_SID": installed["app_sid"]}
    )
    finish.raise_for_status()
    assert _open(client).status_code == 200
    assert [r.path for r in receiver.requests if r.path == "/s"] == ["/s"]


def test_unknown_or_foreign_connector_line_and_unreachable_handler(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    assert _open(client).status_code == 404
    register(client, installed_app)
    assert _open(client, line=999).status_code == 404
    assert _open(client, client_id="local.other").json()["error"] == "NOT_FOUND"
    assert _open(client, client_id=installed_app.client_id).status_code == 200
    assert _open(client, user_id=77).status_code == 404
    assert _open(client, line="x").status_code == 422
    assert _open(client, lang="<script>").status_code == 422

    ok(client, installed_app, "imconnector.register", _connector("http://127.0.0.1:9/"))
    gone = _open(client)
    assert gone.status_code == 502
    assert gone.json()["error"] == "HANDLER_UNREACHABLE"


def test_app_main_page_gets_the_default_placement_post(
    client: httpx.Client, installed_app: InstalledApp, receiver: EventReceiver
) -> None:
    receiver.response_body = b"main page"
    answer = client.post(f"/_sandbox/apps/{installed_app.client_id}/open", json={"lang": "ru"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["body"] == "main page"
    (posted,) = receiver.wait_for(lambda r: r.path == "/handler")
    assert sorted(posted.query) == QUERY_KEYS
    assert posted.query["LANG"] == "ru"
    assert sorted(k for k, _ in posted.pairs) == sorted(set(FORM_KEYS) - {"PLACEMENT_OPTIONS"})
    assert posted.form["PLACEMENT"] == "DEFAULT"
    assert posted.form["APPLICATION_TOKEN"] == installed_app.application_token
    assert client.post("/_sandbox/apps/nope/open").status_code == 404
    client.post(f"/_sandbox/apps/{installed_app.client_id}/uninstall").raise_for_status()
    assert client.post(f"/_sandbox/apps/{installed_app.client_id}/open").status_code == 409
