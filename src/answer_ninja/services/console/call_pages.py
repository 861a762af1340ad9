"""The person's calls: the list (live ones on top, updating by themselves), a live call (transcript as the caller
speaks, Take the call, Hang up now), a finished call (transcript with timings, summary, the caller's profile,
spam / not spam / add to whitelist), and the event streams that keep the pages current.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sse_starlette.sse import EventSourceResponse

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.console.auth import CsrfChecked, Person, SignedIn
from answer_ninja.services.console.backends import BackendError, FormProblem, NotFound, backends_of
from answer_ninja.services.console.live import hub_of
from answer_ninja.services.console.rendering import fragment, render
from answer_ninja.services.user_management.schemas import ID_PATTERN

log = get_logger(__name__)
router = APIRouter(dependencies=[CsrfChecked])
Ctx = Depends(context_of)
CallId = Annotated[str, Path(pattern=ID_PATTERN)]
PAGE_SIZE = 20
# How long the notice of a finished call waits for its summary (profile-analytics learns right after the call).
SUMMARY_WAIT_SECONDS = 15.0
SSE_PING_SECONDS = 15


async def _page(ctx: ServiceContext, person: Person, before: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if before:
        params["before"] = before
    page: dict[str, Any] = await backends_of(ctx).person_json(
        person, "GET", "profile-analytics", "/api/v1/calls", params=params
    )
    return page


@router.get("/calls")
async def calls(
    request: Request, before: str | None = None, person: Person = SignedIn, ctx: ServiceContext = Ctx
) -> Response:
    page = await _page(ctx, person, before)
    return render(request, "calls.html", person, page=page, before=before,
                  welcome=request.query_params.get("welcome") == "1")  # fmt: skip


@router.get("/calls/rows")
async def call_rows(request: Request, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> HTMLResponse:
    """The first page's rows, for the list to refresh itself when a call starts or ends."""
    page = await _page(ctx, person, None)
    return HTMLResponse(fragment(request, "_call_rows.html", person, page=page))


async def _call(ctx: ServiceContext, person: Person, call_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = await backends_of(ctx).person_json(
        person, "GET", "profile-analytics", f"/api/v1/calls/{call_id}"
    )
    return detail


def _transcript_so_far(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live call's lines from its events, one per (turn, speaker), the latest text winning."""
    lines: dict[tuple[int, str], dict[str, Any]] = {}
    for event in events:
        if event.get("type") in ("caller", "ai") and isinstance(event.get("turn"), int):
            lines[(event["turn"], event["type"])] = event
    return [lines[key] for key in sorted(lines, key=lambda key: (key[0], key[1] != "caller"))]


@router.get("/calls/{call_id}")
async def call_page(
    request: Request, call_id: CallId, person: Person = SignedIn, ctx: ServiceContext = Ctx
) -> Response:
    call = await _call(ctx, person, call_id)
    events = hub_of(ctx).backlog(user_id=person.user_id, call_id=call_id)
    ended = any(event.get("type") == "call_ended" for event in events)
    live = bool(call.get("live")) and not ended
    return render(request, "call.html", person, call=call, live=live, lines=_transcript_so_far(events),
                  done=request.query_params.get("done"), problem=request.query_params.get("problem"))  # fmt: skip


def _line_id(event: dict[str, Any]) -> str:
    return f"turn-{event['turn']}-{event['type']}"


def _render_event(request: Request, person: Person, event: dict[str, Any], seen: set[str]) -> dict[str, str] | None:
    kind = event.get("type")
    if kind == "hearing":
        return {"event": "hearing", "data": fragment(request, "_hearing.html", person, text=str(event["text"]))}
    if kind in ("caller", "ai") and isinstance(event.get("turn"), int):
        line_id = _line_id(event)
        first = line_id not in seen
        seen.add(line_id)
        html = fragment(request, "_line.html", person, line=event, line_id=line_id, oob=not first)
        return {"event": "turn" if first else "turnfix", "data": html}
    if kind == "call_ended":
        return {"event": "ended", "data": fragment(request, "_call_ended.html", person, outcome=event.get("outcome"))}
    return None


@router.get("/calls/{call_id}/events")
async def call_events(
    request: Request, call_id: CallId, person: Person = SignedIn, ctx: ServiceContext = Ctx
) -> EventSourceResponse:
    """One call's live transcript (server-sent events of HTML lines); another person's call is a 404."""
    await _call(ctx, person, call_id)  # ownership, decided by profile-analytics with the person's own token
    hub = hub_of(ctx)

    async def stream() -> AsyncIterator[dict[str, str]]:
        seen: set[str] = set()
        with hub.subscribe(user_id=person.user_id, call_id=call_id) as subscription:
            for event in _transcript_so_far(hub.backlog(user_id=person.user_id, call_id=call_id)):
                seen.add(_line_id(event))  # the page rendered these already
            async for event in subscription.events():
                message = _render_event(request, person, event, seen)
                if message is not None:
                    yield message
                if event.get("type") == "call_ended":
                    return

    return EventSourceResponse(stream(), ping=SSE_PING_SECONDS, headers={"Cache-Control": "no-store"})


async def _notice(ctx: ServiceContext, request: Request, person: Person, call_id: str) -> str | None:
    """The in-console notification of a finished call: its summary, once profile-analytics has it."""
    deadline = asyncio.get_running_loop().time() + SUMMARY_WAIT_SECONDS
    call: dict[str, Any] | None = None
    while True:
        try:
            call = await _call(ctx, person, call_id)
        except NotFound:
            return None
        except BackendError:  # busy or restarting: try again until the deadline
            call = None
        late = asyncio.get_running_loop().time() > deadline
        if call is not None and (call.get("summary") or late):
            return fragment(request, "_notice.html", person, call=call)
        if late:
            return None
        await asyncio.sleep(0.3)


@router.get("/live/events")
async def person_events(request: Request, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> EventSourceResponse:
    """The person's stream on every page: the call list refreshes, a finished call's summary pops up."""
    hub = hub_of(ctx)

    async def stream() -> AsyncIterator[dict[str, str]]:
        with hub.subscribe(user_id=person.user_id) as subscription:
            async for event in subscription.events():
                kind = event.get("type")
                if kind in ("call_started", "call_ended"):
                    yield {"event": "calls", "data": str(event.get("call_id", ""))}
                elif kind == "call_summarised":
                    notice = await _notice(ctx, request, person, str(event["call_id"]))
                    if notice:
                        yield {"event": "notice", "data": notice}

    return EventSourceResponse(stream(), ping=SSE_PING_SECONDS, headers={"Cache-Control": "no-store"})


def _back(call_id: str, *, done: str | None = None, problem: str | None = None) -> RedirectResponse:
    query = f"?done={done}" if done else (f"?problem={problem}" if problem else "")
    return RedirectResponse(f"/calls/{call_id}{query}", status_code=303)


async def _act(ctx: ServiceContext, person: Person, call_id: str, path: str, json: Any, done: str) -> Response:
    try:
        await backends_of(ctx).person(person, "POST", "phone-gateway", path, json=json, timeout=15.0)
    except FormProblem as problem:
        log.info("call_action_refused", call_id=call_id, action=done, reason=problem.message[:120])
        return _back(call_id, problem=f"{done}-refused")
    return _back(call_id, done=done)


@router.post("/calls/{call_id}/takeover")
async def take_over(call_id: CallId, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    """Take the call: phone-gateway transfers it to the person's real number, mid-call."""
    return await _act(ctx, person, call_id, f"/api/v1/calls/{call_id}/takeover", {}, "takeover")


@router.post("/calls/{call_id}/hangup")
async def hang_up(call_id: CallId, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    return await _act(ctx, person, call_id, f"/api/v1/calls/{call_id}/hangup", {}, "hangup")


@router.post("/calls/{call_id}/feedback")
async def feedback(
    call_id: CallId,
    verdict: Annotated[str, Form(pattern="^(spam|not_spam)$")],
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    """Spam / not spam: profile-analytics learns from the person's verdict on this caller."""
    body = {"verdict": verdict, "call_id": call_id}
    await backends_of(ctx).person(person, "POST", "profile-analytics", "/api/v1/feedback", json=body)
    return _back(call_id, done=verdict)


@router.post("/calls/{call_id}/whitelist")
async def whitelist_caller(call_id: CallId, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    call = await _call(ctx, person, call_id)
    try:
        await backends_of(ctx).person(
            person, "POST", "user-management", "/api/v1/whitelist", json={"number": call["caller_number"]}
        )
    except FormProblem:
        return _back(call_id, problem="whitelist-refused")  # already on it, or not a number we can whitelist
    return _back(call_id, done="whitelisted")
