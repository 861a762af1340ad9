"""Settings: the AI on or off, persona (with a sample line), spam threshold and action, call length, language, the
person's numbers (pending until verified, once user-management verifies numbers), and notification channels."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from answer_ninja.calls.samples import persona_sample
from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.services.console import i18n
from answer_ninja.services.console.auth import CsrfChecked, Person, SignedIn, set_session_cookie
from answer_ninja.services.console.backends import BackendError, FormProblem, NotFound, backends_of
from answer_ninja.services.console.rendering import render
from answer_ninja.services.console.security import cookie_header, pending_cookies, wants_secure_cookies
from answer_ninja.services.console.sessions import LANGUAGE_COOKIE
from answer_ninja.services.user_management.schemas import ID_PATTERN

router = APIRouter(dependencies=[CsrfChecked])
Ctx = Depends(context_of)
NumberId = Annotated[str, Path(pattern=ID_PATTERN)]
PERSONAS = ("polite", "direct", "humorous", "professional")
CHANNEL_KINDS = ("email", "ntfy", "webhook", "wecom", "dingtalk", "telegram")


async def _settings(ctx: ServiceContext, person: Person) -> dict[str, Any]:
    backends = backends_of(ctx)
    me = await backends.person_json(person, "GET", "user-management", "/api/v1/me")
    numbers = await backends.person_json(person, "GET", "user-management", "/api/v1/me/numbers")
    try:
        channels = await backends.person_json(person, "GET", "user-management", "/api/v1/me/notifications")
    except BackendError:
        channels = None  # shown as unavailable; the rest of the page works
    return {"me": me, "numbers": numbers, "channels": channels}


async def _page(
    request: Request, ctx: ServiceContext, person: Person, *, status_code: int = 200, **context: Any
) -> Response:
    data = await _settings(ctx, person)
    defaults: dict[str, Any] = {"error": None, "fields": {}, "section": None, "done": None}
    defaults.update(context)
    language = i18n.language_of(request, person)
    samples = {persona: persona_sample(persona, language) for persona in PERSONAS}
    return render(request, "settings.html", person, status_code=status_code, personas=PERSONAS, samples=samples,
                  channel_kinds=CHANNEL_KINDS, **data, **defaults)  # fmt: skip


@router.get("/settings")
async def settings_page(request: Request, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    return await _page(request, ctx, person, done=request.query_params.get("done"))


@router.get("/settings/persona-sample")
async def sample_audio(
    request: Request,
    persona: str = Query(pattern="^(polite|direct|humorous|professional)$"),
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    """The persona's first line in the person's language, spoken by the voice the AI uses (from realtime-processor)."""
    language = i18n.language_of(request, person)
    response = await backends_of(ctx).person(
        person, "GET", "realtime-processor", "/api/v1/voice/sample",
        params={"persona": persona, "language": language}, timeout=20.0,
    )  # fmt: skip
    return Response(response.content, media_type="audio/wav", headers={"Cache-Control": "private, max-age=86400"})


@router.post("/settings/preferences")
async def save_preferences(
    request: Request,
    ai_enabled: Annotated[str | None, Form()] = None,
    ai_off_action: Annotated[str, Form(max_length=10)] = "reject",
    persona: Annotated[str, Form(max_length=20)] = "polite",
    spam_threshold: Annotated[str, Form(max_length=10)] = "0.8",
    known_spam_action: Annotated[str, Form(max_length=10)] = "reject",
    max_call_seconds: Annotated[str, Form(max_length=10)] = "180",
    fallback: Annotated[str | None, Form(max_length=10)] = None,  # absent: left as it is
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    body: dict[str, Any] = {
        "ai_enabled": ai_enabled is not None,
        "ai_off_action": ai_off_action,
        "persona": persona,
        "known_spam_action": known_spam_action,
    }
    if fallback is not None:
        body["fallback"] = fallback  # user-management checks the value (422 naming the field)
    problems: dict[str, str] = {}
    for name, raw, kind in (("spam_threshold", spam_threshold, float), ("max_call_seconds", max_call_seconds, int)):
        try:
            body[name] = kind(raw)
        except ValueError:
            problems[name] = "not a number"
    if problems:
        return await _page(request, ctx, person, status_code=422, error="form.invalid", fields=problems,
                           section="preferences")  # fmt: skip
    try:
        await backends_of(ctx).person(person, "PATCH", "user-management", "/api/v1/me/preferences", json=body)
    except FormProblem as problem:
        return await _page(request, ctx, person, status_code=problem.status, error=problem.message,
                           fields=problem.fields, section="preferences")  # fmt: skip
    return RedirectResponse("/settings?done=preferences", status_code=303)


@router.post("/settings/account")
async def save_account(
    request: Request,
    display_name: Annotated[str, Form(max_length=120)] = "",
    real_number: Annotated[str, Form(max_length=40)] = "",
    language: Annotated[str, Form(max_length=10)] = "zh-CN",
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    chosen = i18n.supported(language) or i18n.DEFAULT_LANGUAGE
    body: dict[str, Any] = {"display_name": display_name, "language": chosen}
    if real_number.strip():
        body["real_number"] = real_number.strip()
    try:
        await backends_of(ctx).person(person, "PATCH", "user-management", "/api/v1/me", json=body)
    except FormProblem as problem:
        return await _page(request, ctx, person, status_code=problem.status, error=problem.message,
                           fields=problem.fields, section="account")  # fmt: skip
    # The session remembers the language, and this browser's switch follows the account's choice.
    set_session_cookie(request, ctx, replace(person.session, language=chosen))
    secure = wants_secure_cookies(request.scope, ctx.settings.console_cookie_secure)
    pending_cookies(request.state).append(
        cookie_header(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, secure=secure, http_only=False)
    )
    return RedirectResponse("/settings?done=account", status_code=303)


@router.post("/settings/numbers")
async def add_number(
    request: Request,
    number: Annotated[str, Form(max_length=40)] = "",
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    try:
        await backends_of(ctx).person(person, "POST", "user-management", "/api/v1/me/numbers", json={"number": number})
    except FormProblem as problem:
        return await _page(request, ctx, person, status_code=problem.status, error=problem.message,
                           fields={"number": problem.message}, section="numbers")  # fmt: skip
    return RedirectResponse("/settings?done=numbers", status_code=303)


@router.post("/settings/numbers/{number_id}/delete")
async def remove_number(number_id: NumberId, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    await backends_of(ctx).person(person, "DELETE", "user-management", f"/api/v1/me/numbers/{number_id}")
    return RedirectResponse("/settings?done=numbers", status_code=303)


@router.post("/settings/numbers/{number_id}/verify")
async def verify_number(
    request: Request,
    number_id: NumberId,
    code: Annotated[str, Form(max_length=12)] = "",
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    """The code the carrier delivered proves the number (user-management's verification, once it has it)."""
    try:
        await backends_of(ctx).person(
            person, "POST", "user-management", f"/api/v1/me/numbers/{number_id}/verify", json={"code": code.strip()}
        )
    except (FormProblem, NotFound) as problem:
        return await _page(request, ctx, person, status_code=problem.status, error=problem.message,
                           fields={"code": problem.message}, section="numbers")  # fmt: skip
    return RedirectResponse("/settings?done=verified", status_code=303)


@router.post("/settings/notifications")
async def save_notifications(request: Request, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    """The channels the person wants call summaries on: one row per kind, its target, on or off."""
    form = await request.form()
    channels = []
    for kind in CHANNEL_KINDS:
        target = str(form.get(f"{kind}_target") or "").strip()
        if form.get(f"{kind}_enabled") is not None or target:
            channels.append({"kind": kind, "target": target, "enabled": form.get(f"{kind}_enabled") is not None})
    try:
        await backends_of(ctx).person(
            person, "PUT", "user-management", "/api/v1/me/notifications", json={"channels": channels}
        )
    except FormProblem as problem:
        fields = {name.replace("channels.", "channel-"): message for name, message in problem.fields.items()}
        return await _page(request, ctx, person, status_code=problem.status, error=problem.message, fields=fields,
                           section="notifications")  # fmt: skip
    return RedirectResponse("/settings?done=notifications", status_code=303)
