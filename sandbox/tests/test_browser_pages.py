"""The portal pages in a real headless Chromium: answering in the operator console, the Contact
Center's settings frame (contract §10), and a with-UI installation finished by `BX24.installFinish()`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sandbox.tests.browser import (  # noqa: F401 (fixtures)
    PageServer,
    Served,
    browser_fixture,
    page_fixture,
    page_server_fixture,
)
from sandbox.tests.conftest import EventReceiver, InstalledApp, RunningSandbox
from sandbox.tests.openlines_helpers import CONNECTOR, ICON, bind, element, ok, send, wait_decoded

pytestmark = pytest.mark.browser

# Set to a directory (e.g. docs/images) to write the console and Contact Center screenshots there.
SCREENSHOTS = os.environ.get("B24SANDBOX_SCREENSHOTS")


def _connect(client: httpx.Client, app: InstalledApp, handler: str) -> None:
    params = {"ID": CONNECTOR, "NAME": "Website chat", "ICON": ICON, "PLACEMENT_HANDLER": handler}
    assert ok(client, app, "imconnector.register", params) == {"result": True}
    bind(client, app)
    ok(client, app, "imconnector.activate", {"CONNECTOR": CONNECTOR, "LINE": 1, "ACTIVE": 1})


def test_operator_answers_in_the_console(
    page: Page,
    sandbox: RunningSandbox,
    client: httpx.Client,
    installed_app: InstalledApp,
    receiver: EventReceiver,
) -> None:
    _connect(client, installed_app, f"{receiver.url}/settings")
    (item,) = send(client, installed_app, element("Where is my order?"))
    page.goto(f"{sandbox.base_url}/console?chat={item['session']['CHAT_ID']}")
    expect(page.get_by_text("Where is my order?")).to_be_visible()

    page.get_by_label("Reply", exact=True).fill("It ships today")
    page.get_by_role("button", name="Send").click()
    (event,) = wait_decoded(receiver, "ONIMCONNECTORMESSAGEADD")
    assert event["data"]["MESSAGES"][0]["message"]["text"].endswith("It ships today")
    expect(page.locator("[data-state='sent to connector']")).to_have_count(1)

    # The console polls /console/live: a new customer message appears without a reload.
    send(client, installed_app, element("Thank you!", mid="m-2"))
    expect(page.get_by_text("Thank you!")).to_be_visible()


def test_contact_center_opens_the_settings_page_in_its_frame(
    page: Page,
    sandbox: RunningSandbox,
    client: httpx.Client,
    installed_app: InstalledApp,
    page_server: PageServer,
) -> None:
    _connect(client, installed_app, f"{page_server.url}/settings")
    page.goto(f"{sandbox.base_url}/contact_center/")
    page.get_by_role("link", name="Settings: Website chat on line Sandbox line").click()

    posted = json.loads(page.frame_locator("iframe[name=app-frame]").locator("#posted").text_content() or "")
    assert sorted(posted["query"]) == ["APP_SID", "DOMAIN", "LANG", "PROTOCOL"]
    assert posted["query"]["DOMAIN"] == f"{sandbox.host}:{sandbox.port}"
    form = posted["form"]
    assert form["PLACEMENT"] == "SETTING_CONNECTOR"
    assert form["APPLICATION_TOKEN"] == installed_app.application_token
    assert form["member_id"] == installed_app.member_id
    options = json.loads(form["PLACEMENT_OPTIONS"])
    assert (options["CONNECTOR"], options["LINE"], options["STATUS"]) == (CONNECTOR, "1", True)
    # AUTH_ID is a live token of the admin for the connector's app.
    profile = client.post("/rest/profile.json", json={"auth": form["AUTH_ID"]}).json()
    assert profile["result"]["ADMIN"] is True
    assert [r.path for r in page_server.requests] == ["/settings"]


def _install_page(sandbox: RunningSandbox) -> str:
    """An install page that initialises bx24.js, checks its auth and finishes the installation."""
    return f"""<!doctype html><title>installer</title><p id="result">waiting</p>
<script src="{sandbox.base_url}/bx24.js"></script>
<script>
BX24.init(function () {{
  var auth = BX24.getAuth();
  document.getElementById("result").textContent = auth ? "auth " + auth.access_token : "no auth";
  BX24.installFinish();
}});
</script>"""


def test_with_ui_install_is_finished_by_bx24_install_finish(
    page: Page, sandbox: RunningSandbox, client: httpx.Client, page_server: PageServer
) -> None:
    page_server.render = lambda request: _install_page(sandbox)
    created = client.post(
        "/_sandbox/apps",
        json={"name": "Wizard", "install_url": f"{page_server.url}/install", "api_only": False},
    ).json()
    page.goto(f"{sandbox.base_url}/apps/")
    page.get_by_role("button", name="Install Wizard").click()

    expect(page.locator("#state")).to_have_text("installation finished")
    (request,) = page_server.requests
    frame_result = page.frame_locator("iframe[name=app-frame]").locator("#result")
    expect(frame_result).to_have_text(f"auth {request.form['AUTH_ID']}")
    assert request.form["PLACEMENT"] == "DEFAULT"
    assert sorted(request.query) == ["APP_SID", "DOMAIN", "LANG", "PROTOCOL"]
    (app,) = [a for a in client.get("/_sandbox/apps").json() if a["client_id"] == created["client_id"]]
    assert app["installed"] is True and app["install_finished"] is True
    page.goto(f"{sandbox.base_url}/apps/")
    expect(page.locator(f"tr[data-client-id='{created['client_id']}'] [data-state]")).to_have_text(
        "installed"
    )


def _echo_settings(request: Served) -> str:
    return "<!doctype html><h2>Website chat settings</h2><p>Line " + request.query.get("LANG", "") + "</p>"


def test_screenshots(
    tmp_path: Path,
    page: Page,
    sandbox: RunningSandbox,
    client: httpx.Client,
    installed_app: InstalledApp,
    page_server: PageServer,
) -> None:
    """Renders the pages people look at; B24SANDBOX_SCREENSHOTS=<dir> keeps the pictures (docs/images)."""
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    _connect(client, installed_app, f"{page_server.url}/settings")
    client.post("/contact_center/lines", data={"name": "Sales"})
    customer = element("Hi! Is the blue model in stock?")
    customer["user"]["name"] = "Maria Lopez"
    (item,) = send(client, installed_app, customer)
    send(
        client,
        installed_app,
        element("Hello, I need help with my invoice", chat="chat-2", user="user-2", mid="x"),
    )
    chat_id = item["session"]["CHAT_ID"]
    client.post(
        f"/console/chats/{chat_id}/messages", data={"text": "Yes, we have 4 left. Shall I reserve one?"}
    )
    page.goto(f"{sandbox.base_url}/console?chat={chat_id}")
    expect(page.get_by_text("Shall I reserve one?")).to_be_visible()
    page.screenshot(path=str(target / "sandbox-console.png"))
    page.goto(f"{sandbox.base_url}/contact_center/")
    page.screenshot(path=str(target / "sandbox-contact-center.png"))
    for name in ("sandbox-console.png", "sandbox-contact-center.png"):
        assert (target / name).read_bytes().startswith(b"\x89PNG")
        assert (target / name).stat().st_size > 10_000
