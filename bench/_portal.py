"""The installed portal the in-database benchmarks seed: its install record, with no REST call ever made."""

from __future__ import annotations

from datetime import datetime, timedelta

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
