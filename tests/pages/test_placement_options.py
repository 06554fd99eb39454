"""Reading PLACEMENT_OPTIONS (contract §10) and explaining Bitrix24 failures on the page."""

from __future__ import annotations

import json

import pytest

from openline_bridge.bitrix24.errors import (
    AmbiguousError,
    PermanentError,
    RetryableError,
    TokenExpiredError,
)
from openline_bridge.bitrix24.frame import FrameRefused
from openline_bridge.bitrix24.placement import parse_placement_options, problem_of

DOCS_EXAMPLE = (
    '{"CONNECTOR":"my_connector","LINE":"3","STATUS":false,"ACTIVE_STATUS":true,"CONNECTION_STATUS":false,'
    '"REGISTER_STATUS":false,"ERROR_STATUS":false,'
    '"URI":"\\/contact_center\\/connector\\/?ID=my_connector&IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER"}'
)


def test_the_documented_example() -> None:
    options = parse_placement_options(DOCS_EXAMPLE)

    assert options.connector_id == "my_connector"
    assert options.bitrix_line_id == 3
    assert (options.active, options.connection, options.register) == (True, False, False)
    assert (options.error, options.status, options.configured) == (False, False, False)


def test_other_spellings_of_flags_and_line() -> None:
    options = parse_placement_options(
        json.dumps(
            {
                "CONNECTOR": "My_Connector",
                "LINE": 12,
                "ACTIVE_STATUS": "Y",
                "CONNECTION_STATUS": "1",
                "REGISTER_STATUS": 1,
                "ERROR_STATUS": "N",
            }
        )
    )

    assert options.connector_id == "my_connector"
    assert options.bitrix_line_id == 12
    assert options.configured is True
    assert options.status is None  # absent: unknown, not false


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "[]",
        "null",
        "{",
        '{"CONNECTOR": "x"}',
        '{"LINE": "1"}',
        '{"CONNECTOR": "x", "LINE": "0"}',
        '{"CONNECTOR": "x", "LINE": "-1"}',
        '{"CONNECTOR": "x", "LINE": "1e3"}',
        '{"CONNECTOR": "x", "LINE": true}',
        '{"CONNECTOR": 5, "LINE": "1"}',
    ],
)
def test_unusable_options_are_a_400(raw: str | None) -> None:
    with pytest.raises(FrameRefused) as refused:
        parse_placement_options(raw)
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (
            TokenExpiredError("expired_token", "The access token provided has expired.", status=401),
            "bitrix_expired",
        ),
        (RetryableError("QUERY_LIMIT_EXCEEDED", "Too many requests", status=503), "bitrix_unreachable"),
        (AmbiguousError("NETWORK_ERROR", "ReadTimeout after sending"), "bitrix_unreachable"),
        (
            PermanentError("WRONG_AUTH_TYPE", "Current authorization type is denied", status=403),
            "bitrix_refused",
        ),
    ],
)
def test_problems_keep_the_code_and_description(error: PermanentError, key: str) -> None:
    problem = problem_of(error)

    assert (problem.code, problem.message_key, problem.description) == (error.code, key, error.description)
