from __future__ import annotations

import pytest

from openline_bridge.core.signature import SignedText, split_signature


@pytest.mark.parametrize(
    "wire",
    ["[b]Klaus Weber:[/b][br] Guten Tag!", "[b]Klaus Weber:[/b] [br]Guten Tag!"],
    ids=["source-format", "docs-format"],
)
def test_both_signature_formats_are_split(wire: str) -> None:
    assert split_signature(wire) == SignedText("Klaus Weber", "Guten Tag!")


def test_text_without_signature_is_kept() -> None:
    assert split_signature("[b]Note:[/b] no line break") == SignedText(None, "[b]Note:[/b] no line break")
    assert split_signature("Hello") == SignedText(None, "Hello")


def test_entities_in_names_are_decoded() -> None:
    assert split_signature("[b]O&#039;Neil &amp; Co:[/b][br] Hi").author_name == "O'Neil & Co"
