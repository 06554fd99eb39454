"""SecretBox: round trip, fresh nonce per seal, typed error on a wrong key or damaged value."""

from __future__ import annotations

import pytest

from openline_bridge.crypto import SecretBox
from openline_bridge.errors import SecretBoxError

KEY = "k" * 32 + "first"


def test_round_trip_and_fresh_nonce() -> None:
    box = SecretBox(KEY)
    sealed = box.seal("refresh-token-ü")
    assert box.open(sealed) == "refresh-token-ü"
    assert sealed != box.seal("refresh-token-ü")
    assert "refresh" not in sealed
    assert sealed.isascii()


def test_a_new_box_with_the_same_key_opens_old_values() -> None:
    assert SecretBox(KEY).open(SecretBox(KEY).seal("x")) == "x"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda sealed: SecretBox("k" * 32 + "other").open(sealed), id="wrong-key"),
        pytest.param(lambda sealed: SecretBox(KEY).open(sealed[:-4] + "AAAA"), id="flipped-bytes"),
        pytest.param(lambda sealed: SecretBox(KEY).open("v1.abc"), id="truncated"),
        pytest.param(lambda sealed: SecretBox(KEY).open("v1.***"), id="not-base64"),
        pytest.param(lambda sealed: SecretBox(KEY).open("plaintext"), id="unsealed"),
    ],
)
def test_unopenable_values_raise_secret_box_error(tamper: object) -> None:
    sealed = SecretBox(KEY).seal("secret")
    with pytest.raises(SecretBoxError):
        tamper(sealed)  # type: ignore[operator]
