"""CSRF tokens of the settings page's forms: bound to portal and line, expiring, keyed by the secret."""

from __future__ import annotations

import pytest

from openline_bridge.web.csrf import CsrfFailure, CsrfRefused, CsrfSigner

SECRET = "csrf-test-secret-0123456789abcdefghijkl"
MEMBER = "a223c6b3710f85df22e9377d6c4f7553"
NOW = 1_800_000_000.0


def failure_of(
    signer: CsrfSigner, token: str | None, member: str = MEMBER, line: int = 3, now: float = NOW
) -> CsrfFailure:
    with pytest.raises(CsrfRefused) as refused:
        signer.verify(token, member, line, now)
    return refused.value.failure


def test_a_fresh_token_is_accepted_until_it_expires() -> None:
    signer = CsrfSigner(SECRET, ttl_seconds=600)
    token = signer.issue(MEMBER, 3, NOW)

    signer.verify(token, MEMBER, 3, NOW + 599)
    assert failure_of(signer, token, now=NOW + 600) is CsrfFailure.EXPIRED


def test_a_token_is_bound_to_portal_line_and_key() -> None:
    signer = CsrfSigner(SECRET)
    token = signer.issue(MEMBER, 3, NOW)

    assert failure_of(signer, token, line=4) is CsrfFailure.MISMATCH
    assert failure_of(signer, token, member="b" * 32) is CsrfFailure.MISMATCH
    assert failure_of(CsrfSigner(SECRET + "x"), token) is CsrfFailure.MISMATCH


def test_a_forged_expiry_does_not_pass() -> None:
    signer = CsrfSigner(SECRET)
    expires, _, mac = signer.issue(MEMBER, 3, NOW).partition(".")

    assert failure_of(signer, f"{int(expires) + 10_000}.{mac}", now=NOW) is CsrfFailure.MISMATCH


@pytest.mark.parametrize(
    ("token", "failure"),
    [
        (None, CsrfFailure.MISSING),
        ("", CsrfFailure.MISSING),
        ("no-dot", CsrfFailure.MALFORMED),
        ("abc.def", CsrfFailure.MALFORMED),
        ("123.!!!", CsrfFailure.MALFORMED),
        ("1" * 200 + ".x", CsrfFailure.MALFORMED),
        ("9999999999.AAAA", CsrfFailure.MISMATCH),
    ],
)
def test_garbage_is_refused(token: str | None, failure: CsrfFailure) -> None:
    assert failure_of(CsrfSigner(SECRET), token) is failure
