"""What a Bitrix24 frame and an admin's browser do with the pages: post the frame, read and submit forms."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx


def placement_options(connector_id: str, line: int, **flags: bool) -> str:
    """``PLACEMENT_OPTIONS`` as Bitrix24 sends it (contract §10): ``LINE`` a string, flags booleans."""
    options: dict[str, Any] = {
        "CONNECTOR": connector_id,
        "LINE": str(line),
        "STATUS": False,
        "ACTIVE_STATUS": False,
        "CONNECTION_STATUS": False,
        "REGISTER_STATUS": False,
        "ERROR_STATUS": False,
    }
    options.update({f"{name.upper()}": value for name, value in flags.items()})
    return json.dumps(options)


def frame_post(
    installed: dict[str, Any],
    *,
    placement: str = "SETTING_CONNECTOR",
    options: str | None = None,
    lang: str = "en",
    changes: Mapping[str, str | None] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """``(query, form)`` of a frame opening made with the sandbox install answer's tokens (contract §10).

    ``changes`` replace form fields; a ``None`` value removes the field.
    """
    query = {
        "DOMAIN": installed["domain"],
        "PROTOCOL": "1" if installed["client_endpoint"].startswith("https") else "0",
        "LANG": lang,
        "APP_SID": "0123456789abcdef0123456789abcdef",
    }
    form: dict[str, str] = {
        "AUTH_ID": installed["access_token"],
        "AUTH_EXPIRES": "3600",
        "REFRESH_ID": installed["refresh_token"],
        "SERVER_ENDPOINT": installed["server_endpoint"],
        "APPLICATION_TOKEN": installed["application_token"],
        "APPLICATION_SCOPE": "imopenlines,imconnector,im,placement",
        "member_id": installed["member_id"],
        "status": "L",
        "PLACEMENT": placement,
    }
    if options is not None:
        form["PLACEMENT_OPTIONS"] = options
    for name, value in (changes or {}).items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return query, form


@dataclass
class Form:
    """One ``<form>`` of a page: its action, fields (hidden inputs, textareas) and submit buttons."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)  # value → name


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.textareas: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(attributes.get("action", "")))
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and self.forms and "name" in attributes:
            self.forms[-1].buttons[attributes.get("value", "")] = attributes["name"]
        elif tag == "textarea":
            self._textarea = attributes.get("name") or attributes.get("id") or ""
            self.textareas[self._textarea] = ""
            if self.forms and "name" in attributes:
                self.forms[-1].fields[attributes["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.textareas[self._textarea] += data
            if self.forms and self._textarea in self.forms[-1].fields:
                self.forms[-1].fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


def read_page(html: str) -> tuple[list[Form], dict[str, str]]:
    """The forms of a page and its textareas (by name or id), unescaped."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms, parser.textareas


def form_with(html: str, action: str) -> Form:
    """The form whose submit button has ``action`` as its value."""
    forms, _ = read_page(html)
    for form in forms:
        if action in form.buttons:
            return form
    raise AssertionError(f"no form with a {action!r} button")


async def submit(http: httpx.AsyncClient, form: Form, action: str, **changes: str | None) -> httpx.Response:
    """Submit ``form`` with its ``action`` button to the settings page, as a browser in the frame would."""
    assert form.action == "settings", "forms post back to the settings page"
    data = {**form.fields, form.buttons[action]: action}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return await http.post("/b24/settings", data=data)
