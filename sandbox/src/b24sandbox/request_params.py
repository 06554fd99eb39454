"""Reading REST parameters from a request: query string, JSON, urlencoded or multipart body (contract §2.1).

Form bodies and the query string use PHP bracket keys (`MESSAGES[0][user][id]=7`); uploaded files
become `[file name, base64 content]`, the shape Bitrix24 REST takes for file fields.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message, Scope

from b24sandbox.errors import RestError
from b24sandbox.phpform import parse_pairs


def _bad_body(what: str) -> RestError:
    return RestError("INVALID_REQUEST", f"Request body is not valid {what}", 400)


def query_pairs(raw: bytes) -> list[tuple[str, str]]:
    """Decoded `(key, value)` pairs of a query string or urlencoded body."""
    return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


async def _multipart_pairs(scope: Scope, body: bytes) -> list[tuple[str, Any]]:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, replay)
    try:
        form = await request.form()
    except Exception as exc:  # python-multipart raises several unrelated types for broken input
        raise _bad_body("multipart") from exc
    pairs: list[tuple[str, Any]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            pairs.append((key, [value.filename or "file", base64.b64encode(content).decode()]))
        else:
            pairs.append((key, value))
    await form.close()
    return pairs


async def read_params(scope: Scope, content_type: str, body: bytes) -> dict[str, Any]:
    """All parameters of a REST call; body values win over query values of the same key."""
    query = query_pairs(scope.get("query_string", b""))
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" and body.strip():
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _bad_body("JSON") from exc
        if not isinstance(decoded, dict):
            raise _bad_body("JSON: an object is expected")
        params = parse_pairs(query) if query else {}
        params.update(decoded)
        return params
    pairs: list[tuple[str, Any]] = list(query)
    if kind == "multipart/form-data":
        pairs.extend(await _multipart_pairs(scope, body))
    elif body and kind in ("application/x-www-form-urlencoded", ""):
        pairs.extend(query_pairs(body))
    return parse_pairs(pairs)
