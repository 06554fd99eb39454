"""The connector settings page (`SETTING_CONNECTOR`, contract §10) read by the official SDK: the
sandbox's placement POST parses with the SDK's placement model, and a token built from it drives the
`imconnector.activate` / `connector.data.set` calls a settings page makes."""

from __future__ import annotations

import pytest
from b24pysdk import BitrixToken
from b24pysdk.credentials import OAuthPlacementData
from sandbox.tests.sdk_support import (
    CONNECTOR,
    SdkPortal,
    portal_fixture,  # noqa: F401  (the `portal` fixture)
)


@pytest.fixture
def placement(portal: SdkPortal) -> tuple[OAuthPlacementData, int]:
    """What the settings page of the SDK app's connector receives when opened on a new line."""
    line = portal.new_line()
    portal.register()
    opened = portal.ok("placements/open", {"connector": CONNECTOR, "line": line})
    assert opened["status"] == 200
    sent = opened["request"]
    # An SDK integration merges the query string and the form (contract §10).
    return OAuthPlacementData.from_dict({**sent["query"], **sent["form"]}), line


def test_placement_post_parses_with_the_sdk(
    portal: SdkPortal, placement: tuple[OAuthPlacementData, int]
) -> None:
    data, line = placement
    assert data.placement == "SETTING_CONNECTOR"
    assert data.domain == portal.domain
    assert data.member_id == portal.installed["member_id"]
    assert data.oauth_token.refresh_token  # REFRESH_ID
    options = data.placement_options
    assert options is not None
    # contract §10: CONNECTOR lower-case, LINE a string, the state flags booleans
    assert (options["CONNECTOR"], options["LINE"]) == (CONNECTOR, str(line))
    assert options["ACTIVE_STATUS"] is False
    assert options["STATUS"] is False


def test_settings_page_connects_the_line_with_the_placement_token(
    portal: SdkPortal, placement: tuple[OAuthPlacementData, int]
) -> None:
    data, line = placement
    token = BitrixToken.from_oauth_placement_data(data, bitrix_app=portal.app)
    imc = token.get_client().imconnector
    options = data.placement_options
    assert options is not None
    assert imc.activate(options["CONNECTOR"], int(options["LINE"]), True).result is True
    channel = {"ID": "web", "URL": "https://example.com/", "NAME": "Website chat"}
    assert imc.connector.data.set(CONNECTOR, line, channel).result is True
    status = imc.status(CONNECTOR, line=line).result
    assert (status["CONFIGURED"], status["STATUS"]) == (True, True)


def test_placement_app_info_matches_the_installation(
    portal: SdkPortal, placement: tuple[OAuthPlacementData, int]
) -> None:
    data, _ = placement
    info = data.get_app_info(portal.app)  # app.info on the OAuth host with AUTH_ID
    assert info.client_id == portal.app.client_id
    assert info.install.member_id == data.member_id
