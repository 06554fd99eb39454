"""The installed portal the in-database benchmarks seed: its install record, with no REST call ever made."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

from openline_bridge.store.portals import PortalInstall

APP_TOKEN = "bench-application-token"  # noqa: S105 -- a throwaway bench database


def offline_install(member_id: str, domain: str, now: datetime) -> PortalInstall:
    """An install whose tokens are placeholders: the benchmark using it never calls Bitrix24 REST."""
    return PortalInstall(
        member_id=member_id,
        domain=domain,
        client_endpoint=f"https://{domain}/rest/",
        server_endpoint="https://oauth.bitrix.info/rest/",
        client_id="local.bench",
        access_token="access",  # noqa: S106
        refresh_token="refresh",  # noqa: S106
        access_expires_at=now + timedelta(hours=1),
        application_token=APP_TOKEN,
        scope="imopenlines,imconnector,im",
        installed_by_bitrix_user_id=1,
    )


def operator_message_event(member_id: str, domain: str, chat_id: str, message_id: int) -> str:
    """``ONIMCONNECTORMESSAGEADD`` for one operator message to the portal of :func:`offline_install`,
    form-encoded as Bitrix24 posts it (contract §7.3)."""
    prefix = "data[MESSAGES][0]"
    return urlencode(
        {
            "event": "ONIMCONNECTORMESSAGEADD",
            "event_handler_id": "7",
            "data[CONNECTOR]": "openline_bridge",
            "data[LINE]": "1",
            f"{prefix}[im][chat_id]": "1807",
            f"{prefix}[im][message_id]": str(message_id),
            f"{prefix}[message][user_id]": "27",
            f"{prefix}[message][text]": f"[b]Klaus Weber:[/b][br] Order [b]#{message_id}[/b] has shipped",
            f"{prefix}[chat][id]": chat_id,
            "ts": str(int(time.time())),
            "auth[domain]": domain,
            "auth[member_id]": member_id,
            "auth[application_token]": APP_TOKEN,
            "auth[access_token]": "user-token",
            "auth[client_endpoint]": f"https://{domain}/rest/",
        }
    )
