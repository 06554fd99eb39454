"""The page strings: both languages complete, language chosen from Bitrix24's LANG."""

from __future__ import annotations

import string

import pytest

from openline_bridge.web.i18n import STRINGS, pick_language, translator


def test_both_languages_have_the_same_keys_and_fields() -> None:
    assert set(STRINGS["en"]) == set(STRINGS["ru"])
    for key, english in STRINGS["en"].items():
        fields = {name for _, name, _, _ in string.Formatter().parse(english) if name}
        russian = {name for _, name, _, _ in string.Formatter().parse(STRINGS["ru"][key]) if name}
        assert fields == russian, key


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", "ru"),
        ("RU", "ru"),
        ("ru-RU", "ru"),
        ("ru_RU", "ru"),
        ("en", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_from_bitrix24_lang(lang: str | None, expected: str) -> None:
    assert pick_language(lang) == expected


def test_fields_are_filled() -> None:
    assert translator("en")("settings_title", line=5) == "Website chat — line 5"
    assert translator("ru")("settings_title", line=5) == "Чат на сайте — линия 5"
