"""Downloading operator files from the portal (contract §9.1 ``files[].link``, pitfall P21).

Whether a link needs authentication is not settled (contract §16 #4): a link on the portal's own host gets
the portal's access token as the ``auth`` query parameter (never a third-party host); a signed relative
``downloadLink`` is tried when the link fails. Downloads are bounded in size and time and retried a few
times; a file that still cannot be fetched is recorded as unavailable and retried later
(:func:`relay.operator_inbound.retry_unavailable_files`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from openline_bridge.bitrix24.events import EventFile
from openline_bridge.errors import BridgeError
from openline_bridge.relay.errors import FileTooLarge
from openline_bridge.relay.files import FileStore, StoredFile

__all__ = ["AccessTokenSource", "DownloadFailed", "OperatorFiles", "PortalRef"]

# member_id → a current access token of the portal (e.g. ``DatabaseTokenStore.load(m).access_token``)
AccessTokenSource = Callable[[str], Awaitable[str]]

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
RETRY_DELAYS = (0.5, 2.0)  # three attempts in all, like the connectors that download robustly (P21)


class DownloadFailed(BridgeError):
    """An operator file could not be fetched; ``reason`` is shown as the attachment's download error."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PortalRef:
    """A link on the portal's REST host may carry its token; a relative link resolves against it."""

    def __init__(self, member_id: str, client_endpoint: str) -> None:
        parts = urlsplit(client_endpoint)
        self.member_id = member_id
        self.origin = f"{parts.scheme}://{parts.netloc}/"
        self.host = (parts.hostname or "").lower()


class OperatorFiles:
    """Fetches operator files into the file store."""

    def __init__(
        self,
        store: FileStore,
        http: httpx.AsyncClient,
        access_token: AccessTokenSource,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._store = store
        self._http = http
        self._access_token = access_token
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._retry_delays = retry_delays

    async def fetch(self, portal: PortalRef, file: EventFile) -> StoredFile:
        """Download one file (several attempts); raise :class:`DownloadFailed` with the last reason."""
        last = DownloadFailed("no download link")
        for delay in (0.0, *self._retry_delays):
            if delay:
                await asyncio.sleep(delay)
            for url in self._candidates(portal, file):
                try:
                    return await self._download(portal, url, file.name)
                except FileTooLarge as exc:
                    raise DownloadFailed(str(exc)) from exc
                except DownloadFailed as exc:
                    last = exc
        raise last

    def _candidates(self, portal: PortalRef, file: EventFile) -> list[str]:
        return [urljoin(portal.origin, link) for link in (file.link, file.download_link) if link]

    async def _download(self, portal: PortalRef, url: str, name: str) -> StoredFile:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise DownloadFailed(f"unsupported link scheme {parts.scheme!r}")
        if (parts.hostname or "").lower() == portal.host:
            token = await self._access_token(portal.member_id)
            url = f"{url}{'&' if parts.query else '?'}{urlencode({'auth': token})}"
        try:
            async with self._http.stream(
                "GET", url, timeout=self._timeout, follow_redirects=True
            ) as response:
                if response.status_code != 200:
                    raise DownloadFailed(f"portal answered HTTP {response.status_code}")
                return await self._store.save(_body(response), max_bytes=self._max_bytes, name=name)
        except httpx.HTTPError as exc:
            raise DownloadFailed(f"download failed: {exc.__class__.__name__}") from exc


async def _body(response: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in response.aiter_bytes():
        yield chunk
