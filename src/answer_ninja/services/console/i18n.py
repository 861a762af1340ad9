"""The console's words in zh-CN (first) and en-US, and how a page picks its language.

A page's language: the person's own choice on this browser (the language switch's cookie), else their account's
language, else the browser's Accept-Language, else zh-CN. Every key used by a template must be here in both
languages (a test reads the templates and checks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from answer_ninja.services.console.i18n_messages import MESSAGES
from answer_ninja.services.console.sessions import LANGUAGE_COOKIE

if TYPE_CHECKING:
    from fastapi import Request

    from answer_ninja.services.console.auth import Person

LANGUAGES = ("zh-CN", "en-US")
DEFAULT_LANGUAGE = "zh-CN"


def supported(language: str | None) -> str | None:
    if not language:
        return None
    if language in LANGUAGES:
        return language
    prefix = language.split("-")[0].lower()
    return {"zh": "zh-CN", "en": "en-US"}.get(prefix)


def from_accept_language(header: str) -> str | None:
    """The first supported language in an Accept-Language header (q-values in order, as browsers send them)."""
    weighted = []
    for position, part in enumerate(header.split(",")):
        name, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, name.strip()))
    for _, _, name in sorted(weighted):
        found = supported(name)
        if found:
            return found
    return None


def language_of(request: Request, person: Person | None) -> str:
    return (
        supported(request.cookies.get(LANGUAGE_COOKIE))
        or (supported(person.language) if person is not None else None)
        or from_accept_language(request.headers.get("accept-language", ""))
        or DEFAULT_LANGUAGE
    )


def translate(key: str, language: str, **params: object) -> str:
    """The text of ``key`` in ``language`` (the key itself when missing, so a gap is visible, never a crash)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry[0] if language == "zh-CN" else entry[1]
    return text.format(**params) if params else text


def translator(language: str) -> Callable[..., str]:
    def t(key: str, **params: object) -> str:
        return translate(key, language, **params)

    return t
