"""Every word a template shows exists in zh-CN and en-US; the page's language is chosen as documented."""

from __future__ import annotations

import re

import pytest

from answer_ninja.services.console import i18n
from answer_ninja.services.console.i18n_messages import MESSAGES
from answer_ninja.services.console.rendering import TEMPLATE_DIR

STATIC_KEY = re.compile(r"""\bt\(\s*["']([a-z_\-]+\.[a-z_\-.]+)["']""")


def test_every_static_key_in_the_templates_is_translated() -> None:
    used = {key for path in TEMPLATE_DIR.glob("*.html") for key in STATIC_KEY.findall(path.read_text())}
    assert len(used) > 100
    missing = sorted(key for key in used if key not in MESSAGES and not key.endswith("."))
    assert missing == []
    # Prefixes completed at run time ("intent." ~ name) have their family in the catalogue.
    prefixes = {key for key in used if key.endswith(".")}
    assert prefixes
    assert all(any(name.startswith(prefix) for name in MESSAGES) for prefix in prefixes)


def test_both_languages_are_there() -> None:
    empty = [key for key, (zh, en) in MESSAGES.items() if key != "reason.none" and not (zh.strip() and en.strip())]
    assert empty == []


def test_placeholders_match_between_languages() -> None:
    field = re.compile(r"{(\w+)}")
    for key, (zh, en) in MESSAGES.items():
        assert set(field.findall(zh)) == set(field.findall(en)), key


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9", "en-US"),
        ("fr-FR,en;q=0.5,zh;q=0.7", "zh-CN"),
        ("de-DE", None),
        ("", None),
        ("en;q=bad,zh-TW", "zh-CN"),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_translate_fills_placeholders_and_shows_a_missing_key() -> None:
    assert i18n.translate("call.title", "en-US", caller="+1") == "Call from +1"
    assert i18n.translate("call.title", "zh-CN", caller="+1") == "来自 +1 的通话"
    assert i18n.translate("no.such.key", "zh-CN") == "no.such.key"
