"""Server-rendered pages: one Jinja2 environment (autoescaping on: a caller's words are text, never markup) and
the context every page gets (translator, language, the person, the CSRF token, asset URLs)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from answer_ninja import __version__
from answer_ninja.services.console import charts, i18n
from answer_ninja.services.console.auth import Person

PACKAGE = resources.files("answer_ninja.services.console")
STATIC_DIR = Path(str(PACKAGE / "static"))
TEMPLATE_DIR = Path(str(PACKAGE / "templates"))
VENDOR_FILES = ("htmx.min.js", "htmx-ext-sse.min.js")


def vendor_present() -> bool:
    """Whether the install step vendored htmx; without it pages work but do not update by themselves."""
    return all((STATIC_DIR / "vendor" / name).is_file() for name in VENDOR_FILES)


def _local_time(value: Any, language: str = "zh-CN") -> str:
    """A timestamp as people read it (UTC, minute precision); '-' when absent."""
    if value in (None, ""):
        return "-"
    moment = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: Any) -> str:
    if seconds in (None, ""):
        return "-"
    total = round(float(seconds))
    minutes, secs = divmod(total, 60)
    return f"{minutes}:{secs:02d}"


def _masked(number: Any) -> str:
    """A phone number with its middle hidden (what a notification or a screenshot may show)."""
    text = str(number or "")
    if len(text) < 8:
        return text
    return text[:5] + "*" * (len(text) - 9) + text[-4:]


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _local_time
    env.filters["duration"] = _duration
    env.filters["masked"] = _masked
    env.globals["sparkline"] = lambda values, **kw: Markup(charts.sparkline(values, **kw))
    env.globals["version"] = __version__
    return env


def page_context(request: Request, person: Person | None, **context: Any) -> dict[str, Any]:
    language = i18n.language_of(request, person)
    return {
        "request": request,
        "t": i18n.translator(language),
        "lang": language,
        "person": person,
        "csrf": getattr(request.state, "csrf", ""),
        "live_updates": vendor_present(),
        "path": request.url.path,
        **context,
    }


def render(
    request: Request,
    template: str,
    person: Person | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = environment().get_template(template).render(page_context(request, person, **context))
    return HTMLResponse(html, status_code=status_code, headers=headers)


def fragment(request: Request, template: str, person: Person | None, **context: Any) -> str:
    """A piece of a page (an htmx swap or an SSE event's data), rendered like a page."""
    return environment().get_template(template).render(page_context(request, person, **context))
