"""The websites a widget may run on: parsing the admin's list and matching a browser's ``Origin``.

An allowed entry is an origin, ``scheme://host[:port]`` (http or https), or a wildcard
``scheme://*.domain[:port]`` that matches every subdomain of ``domain`` but not ``domain`` itself.
Entries are normalised (lower case, IDNA host, default port dropped) so that matching is a plain
comparison. An empty list allows no website: a fresh widget is closed until its admin says where it
lives, so a leaked widget key cannot put the chat on someone else's site.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from openline_bridge.errors import BridgeError

__all__ = ["MAX_ORIGINS", "InvalidOrigin", "normalise_origin", "origin_allowed", "parse_origin_list"]

MAX_ORIGINS = 50
_MAX_ORIGIN_CHARS = 255
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SEPARATORS = re.compile(r"[\s,]+")


class InvalidOrigin(BridgeError):
    """An allowed-origin entry is not an http(s) origin; ``value`` is the entry as typed."""

    def __init__(self, value: str, problem: str) -> None:
        self.value = value
        self.problem = problem
        super().__init__(f"{value!r}: {problem}")


def _host(value: str, raw_host: str) -> str:
    wildcard = raw_host.startswith("*.")
    name = raw_host[2:] if wildcard else raw_host
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidOrigin(value, "the host name is not valid") from None
    labels = ascii_name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidOrigin(value, "the host name is not valid")
    if wildcard and len(labels) < 2:
        raise InvalidOrigin(value, "a wildcard needs a domain with at least two labels, e.g. *.example.com")
    return ("*." if wildcard else "") + ascii_name


def _parts(value: str) -> tuple[str, str, int | None]:
    """(scheme, host, port or None for the default) of one origin; raise :class:`InvalidOrigin`."""
    text = value.strip()
    if len(text) > _MAX_ORIGIN_CHARS:
        raise InvalidOrigin(value[:40] + "…", "too long")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise InvalidOrigin(value, "it must start with https:// or http://")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text:
        raise InvalidOrigin(value, "an origin has no path, query or fragment")
    if "@" in parts.netloc:
        raise InvalidOrigin(value, "an origin has no user name or password")
    try:
        port = parts.port
    except ValueError:
        raise InvalidOrigin(value, "the port is not valid") from None
    if port == 0:
        raise InvalidOrigin(value, "the port is not valid")
    raw_host = parts.hostname or ""
    if ":" in raw_host:  # an IPv6 literal (urlsplit removed its brackets)
        try:
            host = f"[{ipaddress.IPv6Address(raw_host).compressed}]"
        except ValueError:
            raise InvalidOrigin(value, "the host name is not valid") from None
    else:
        host = _host(value, raw_host)
    return scheme, host, None if port == _DEFAULT_PORTS[scheme] else port


def normalise_origin(value: str) -> str:
    """The canonical form of one allowed origin; raise :class:`InvalidOrigin` if it is not one."""
    scheme, host, port = _parts(value)
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"


def parse_origin_list(text: str) -> list[str]:
    """Normalised, de-duplicated origins from text with one per line (commas and spaces also separate)."""
    origins: list[str] = []
    for entry in _SEPARATORS.split(text):
        if entry:
            origin = normalise_origin(entry)
            if origin not in origins:
                origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise InvalidOrigin(f"{len(origins)} entries", f"at most {MAX_ORIGINS} origins are allowed")
    return origins


def origin_allowed(allowed: Sequence[str], origin: str | None) -> bool:
    """Whether a browser ``Origin`` header value matches one of the (normalised) ``allowed`` entries."""
    if not origin or "*" in origin:
        return False  # also "null" (sandboxed frames, file://): never a website we can name
    try:
        scheme, host, port = _parts(origin)
    except InvalidOrigin:
        return False
    for entry in allowed:
        entry_scheme, entry_host, entry_port = _parts(entry)
        if (entry_scheme, entry_port) != (scheme, port):
            continue
        if entry_host == host:
            return True
        # "*.example.com" matches "a.example.com" and "a.b.example.com", never "example.com".
        if entry_host.startswith("*.") and host.endswith(entry_host[1:]):
            return True
    return False
