"""The one-command demo: the Bitrix24 sandbox, the bridge and a demo website on localhost.

It does what an admin would do on a real portal, through the same doors: registers a local app in the
sandbox, installs it (Bitrix24 posts ONAPPINSTALL to the bridge, which registers its connector and binds
its events), creates an open line, and connects the connector through the bridge's real settings page
as the Contact Center frames it. Then it serves a demo website that embeds the widget and prints two
links: the website and the sandbox operator console.

SQLite, no configuration: everything lives in ./data/demo and is reused on the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import html.parser
import http.server
import os
import secrets
import signal
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # tools/ holds the process helpers the benchmarks share

from tools.procs import NotUpError, child, wait_http  # noqa: E402

SITE = Path(__file__).resolve().parent / "site"
CLIENT_ID = "local.openline-bridge-demo"
CONNECTOR_ID = "openline_bridge"


@dataclass
class Form:
    """An HTML form as a browser would submit it."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)
    textareas: dict[str, str] = field(default_factory=dict)


class FormParser(html.parser.HTMLParser):
    """Collects the forms of a page and the widget embed code shown in it."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._in_form = False
        self._textarea: str | None = None
        self.text_chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
            self._in_form = True
        elif not self._in_form or not values.get("name"):
            # Only named controls inside a form are submitted (the embed code box is neither).
            return
        elif tag == "input":
            if values.get("type") == "submit":
                self.forms[-1].buttons[values["name"]] = values.get("value", "")
            else:
                self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button":
            self.forms[-1].buttons[values["name"]] = values.get("value", "")
        elif tag == "textarea":
            # An empty textarea is still a field (an empty origins list must be found and filled).
            self._textarea = values["name"]
            self.forms[-1].textareas[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data: str) -> None:
        self.text_chunks.append(data)
        if self._textarea is not None:
            self.forms[-1].textareas[self._textarea] += data


def parse_page(body: str) -> FormParser:
    """Forms and text of an HTML page."""
    parser = FormParser()
    parser.feed(body)
    return parser


def secret_key(data_dir: Path) -> str:
    """The demo's OLB_SECRET_KEY, made once and kept with the demo data."""
    path = data_dir / "secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def setup_portal(sandbox: httpx.Client, bridge_url: str, client_secret: str, site_origin: str) -> str:
    """Register and install the app, create a line, connect it; return the widget key."""
    apps = {app["client_id"]: app for app in sandbox.get("/_sandbox/apps").json()}
    if CLIENT_ID not in apps:
        created = sandbox.post(
            "/_sandbox/apps",
            json={
                "client_id": CLIENT_ID,
                "client_secret": client_secret,
                "name": "openline-bridge",
                "install_url": f"{bridge_url}/b24/install",
                "handler_url": f"{bridge_url}/b24/app",
                "scope": ["imopenlines", "imconnector", "im", "placement"],
                "api_only": True,
            },
        )
        created.raise_for_status()
        apps[CLIENT_ID] = created.json()
    if not apps[CLIENT_ID]["installed"]:
        installed = sandbox.post(f"/_sandbox/apps/{CLIENT_ID}/install", json={})
        installed.raise_for_status()
        if installed.json().get("status") != 200:
            raise SystemExit(f"demo: the bridge refused the installation: {installed.json()}")
    lines = sandbox.get("/_sandbox/lines").json()
    lines = lines.get("lines", lines) if isinstance(lines, dict) else lines
    if lines:
        line_id = str(lines[0]["id"])
    else:
        made = sandbox.post("/_sandbox/lines", json={"name": "Website chat", "active": True})
        made.raise_for_status()
        line_id = str(made.json()["id"])
    return connect_line(sandbox, line_id, site_origin, bridge_url)


def open_settings(sandbox: httpx.Client, line_id: str) -> tuple[str, FormParser]:
    """The bridge's settings page for the line, posted exactly as the Contact Center frames it."""
    opened = sandbox.post(
        "/_sandbox/placements/open", json={"connector": CONNECTOR_ID, "line": line_id, "lang": "en"}
    )
    opened.raise_for_status()
    page = opened.json()
    if page["status"] != 200:
        raise SystemExit(f"demo: the settings page answered {page['status']}: {page['body'][:500]}")
    return page["body"], parse_page(page["body"])


def submit(form: Form, button: str | None, extra: dict[str, str], page_url: str) -> FormParser:
    """Post a form of the settings page the way the browser in the Bitrix24 frame would."""
    data = {**form.fields, **form.textareas, **extra}
    if button is not None:
        data[button] = form.buttons[button]
    action = urllib.parse.urljoin(page_url, form.action)
    response = httpx.post(action, data=data, timeout=30)
    if response.status_code >= 400:
        status = response.status_code
        raise SystemExit(f"demo: the settings page refused a form ({status}): {response.text[:300]}")
    return parse_page(response.text)


def connect_line(sandbox: httpx.Client, line_id: str, site_origin: str, bridge: str) -> str:
    """Press Connect on the settings page (if needed), allow the demo site's origin, return the widget key."""
    _, page = open_settings(sandbox, line_id)
    settings_url = f"{bridge}/b24/settings"
    for form in page.forms:
        connect = [name for name, value in form.buttons.items() if value == "connect"]
        if connect or form.fields.get("action") == "connect":
            page = submit(form, connect[0] if connect else None, {}, settings_url)
            break
    for form in page.forms:
        origins_field = next((name for name in form.textareas if "origin" in name), None)
        if origins_field and site_origin not in form.textareas[origins_field]:
            # The save button carries the form's action; without it the post reads as a fresh frame.
            save = next(iter(form.buttons), None)
            page = submit(form, save, {origins_field: site_origin}, settings_url)
            break
    text = "".join(page.text_chunks)
    marker = 'data-widget="'
    if marker not in text:
        _, page = open_settings(sandbox, line_id)
        text = "".join(page.text_chunks)
    if marker not in text:
        raise SystemExit("demo: the settings page shows no widget embed code")
    return text.split(marker, 1)[1].split('"', 1)[0]


def serve_site(port: int, widget_src: str, widget_key: str) -> http.server.ThreadingHTTPServer:
    """The demo website, with the widget's one line filled in."""
    page = (SITE / "index.html").read_text(encoding="utf-8")
    body = page.replace("__WIDGET_SRC__", widget_src).replace("__WIDGET_KEY__", widget_key).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path in ("/", "/index.html") else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Demo:
    """A running demo stack: where each part answers and the widget key of the connected line."""

    sandbox_url: str
    bridge_url: str
    site_url: str
    widget_key: str
    data_dir: Path


@contextlib.contextmanager
def demo_stack(sandbox_port: int, bridge_port: int, site_port: int, data_dir: Path) -> Iterator[Demo]:
    """Start the sandbox, the bridge and the demo site, set the portal up; stop everything on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    bridge_url = f"http://127.0.0.1:{bridge_port}"
    site_origin = f"http://127.0.0.1:{site_port}"
    client_secret_path = data_dir / "client-secret"
    if not client_secret_path.exists():
        client_secret_path.write_text(secrets.token_hex(24), encoding="utf-8")
    client_secret = client_secret_path.read_text(encoding="utf-8").strip()
    env = {
        **os.environ,
        "OLB_PUBLIC_URL": bridge_url,
        "OLB_HOST": "127.0.0.1",
        "OLB_PORT": str(bridge_port),
        "OLB_DATA_DIR": str(data_dir / "bridge"),
        "OLB_SECRET_KEY": secret_key(data_dir),
        "OLB_B24_CLIENT_ID": CLIENT_ID,
        "OLB_B24_CLIENT_SECRET": client_secret,
        "OLB_B24_JS_URL": f"{sandbox_url}/bx24.js",
        "OLB_LOG_FORMAT": "console",
    }
    sandbox_state = data_dir / "sandbox-state.json"
    sandbox_args = [
        str(BIN / "b24sandbox"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(sandbox_port),
        "--state",
        str(sandbox_state),
    ]
    with (
        child(sandbox_args, env, data_dir / "sandbox.log"),
        child([str(BIN / "openline-bridge"), "serve"], env, data_dir / "bridge.log"),
    ):
        try:
            wait_http(f"{sandbox_url}/_sandbox/openapi.json", timeout=30)
            wait_http(f"{bridge_url}/healthz", timeout=30)
        except NotUpError as exc:
            raise SystemExit(f"demo: {exc}") from exc
        with httpx.Client(base_url=sandbox_url, timeout=30) as sandbox:
            widget_key = setup_portal(sandbox, bridge_url, client_secret, site_origin)
            sandbox.post("/_sandbox/state/save", json={"path": str(sandbox_state)})
        site = serve_site(site_port, f"{bridge_url}/widget.js", widget_key)
        try:
            yield Demo(sandbox_url, bridge_url, f"{site_origin}/", widget_key, data_dir)
        finally:
            site.shutdown()
            site.server_close()


def main() -> int:
    """Start everything, set the portal up, print the links, run until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox-port", type=int, default=8024)
    parser.add_argument("--bridge-port", type=int, default=8025)
    parser.add_argument("--site-port", type=int, default=8026)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--setup-only", action="store_true", help="set everything up, print the links, stop")
    args = parser.parse_args()

    with demo_stack(args.sandbox_port, args.bridge_port, args.site_port, args.data_dir) as demo:
        print(
            "\nopenline-bridge demo is running (Ctrl+C stops it)\n"
            f"  demo website with the chat widget:  {demo.site_url}\n"
            f"  Bitrix24 sandbox operator console:  {demo.sandbox_url}/\n"
            f"  logs and data:                      {demo.data_dir}\n",
            flush=True,
        )
        if args.setup_only:
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
