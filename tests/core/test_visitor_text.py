from __future__ import annotations

from openline_bridge.core.filenames import safe_file_name
from openline_bridge.core.visitor_text import clean_name, neutralise_bbcode, split_full_name


def test_bbcode_from_visitors_is_inert() -> None:
    out = neutralise_bbcode("[b]hi[/b] [url=https://x]y[/url] a[1] [ ]")
    assert "[b]" not in out and "[/b]" not in out and "[url=" not in out
    assert out.replace("\u200b", "") == "[b]hi[/b] [url=https://x]y[/url] a[1] [ ]"
    assert "a[1]" in out


def test_names_follow_bitrix24_rules() -> None:
    assert clean_name("  Jean-Luc  O’Brien!! ") == "Jean-Luc O'Brien"
    assert clean_name("Иван 😀 Петров") == "Иван Петров"
    assert clean_name("1234 $$$") is None
    assert clean_name("A" * 40) == "A" * 25
    assert split_full_name("Ivan Petrov Sidorov") == ("Ivan", "Petrov Sidorov")
    assert split_full_name(None) == (None, None)


def test_file_names_keep_extension_within_fifty_characters() -> None:
    long_name = "quarterly report & summary " * 5 + ".pdf"
    out = safe_file_name(long_name)
    assert len(out) <= 50 and out.endswith(".pdf") and "&" not in out
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("") == "file"
    assert safe_file_name("photo.JPG") == "photo.JPG"
