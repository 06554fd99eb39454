"""The official SDK's `batch` against the sandbox over HTTPS (contract §3): the SDK encodes each
sub-call as `method?query`, nested `MESSAGES` included, and splits more than 50 commands itself."""

from __future__ import annotations

from sandbox.tests.sdk_support import (
    CONNECTOR,
    SdkPortal,
    customer_message,
    portal_fixture,  # noqa: F401  (the `portal` fixture)
)


def test_batch_runs_sub_calls_and_reports_errors_per_command(portal: SdkPortal) -> None:
    line = portal.new_line()
    imc = portal.client.imconnector
    portal.register()
    text = "a+b=c & 100% [b]sure[/b]"  # characters the query-string encoding of `cmd` must keep
    batch = portal.client.call_batch(
        {
            "activate": imc.activate(CONNECTOR, line, True),
            "send": imc.send.messages(CONNECTOR, line, [customer_message(text, "b-1", chat_id="chat 1")]),
            "broken": imc.status(""),
        }
    )
    result = batch.result
    assert result.result["activate"] is True
    assert result.result["send"]["DATA"]["RESULT"][0]["SUCCESS"] is True
    # contract §3: a failing sub-call does not fail the batch, its error is reported by id
    assert result.result_error["broken"]["error"] == "ERROR_ARGUMENT"
    assert set(result.result_time) == {"activate", "send"}
    [message] = portal.conversation("chat 1")["messages"]
    assert message["text"] == text
    assert [(c["method"], c["in_batch"]) for c in portal.calls()][-4:] == [
        ("imconnector.activate", True),
        ("imconnector.send.messages", True),
        ("imconnector.status", True),
        ("batch", False),
    ]


def test_halt_stops_at_the_first_failure(portal: SdkPortal) -> None:
    client = portal.client
    batch = client.call_batch(
        {"first": client.profile(), "broken": client.imconnector.status(""), "never": client.profile()},
        halt=True,
    )
    result = batch.result
    assert set(result.result) == {"first"}
    assert set(result.result_error) == {"broken"}


def test_more_than_fifty_commands_are_split_by_the_sdk(portal: SdkPortal) -> None:
    client = portal.client
    requests = {f"p{i}": client.profile() for i in range(60)}
    combined = client.call_batches(requests).result
    assert len(combined.result) == 60
    # contract §3: at most 50 sub-calls per batch, so the SDK sent two
    assert [c["method"] for c in portal.calls() if not c["in_batch"]] == ["batch", "batch"]
