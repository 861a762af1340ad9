"""Operator pages, all through the responder's API with the operator's own token (the responder checks the role
again and records approvals and drills under the operator's identity): the service board, incidents with their
timeline, evidence, actions, MTTD/MTTR and postmortem, pending approvals, the audit log, budgets, and drills."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.services.console.auth import CsrfChecked, OperatorSignedIn, Person
from answer_ninja.services.console.backends import FormProblem, backends_of
from answer_ninja.services.console.metrics_sampler import FIGURES, sampler_of
from answer_ninja.services.console.rendering import fragment, render

router = APIRouter(prefix="/ops", dependencies=[CsrfChecked])
Ctx = Depends(context_of)
IncidentId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
ApprovalId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
# Postmortems are the responder's Markdown; rendered without raw HTML, so nothing in one can become markup.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def _nested_headings(html: str) -> str:
    """The postmortem's headings sit under the page's own (h1 -> h3 ...): one h1 per page, an outline that reads."""
    return re.sub(r"<(/?)h([1-4])>", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 2}>", html)


async def _responder(ctx: ServiceContext, person: Person, path: str, **kwargs: Any) -> Any:
    return await backends_of(ctx).person_json(person, "GET", "responder", path, **kwargs)


async def _board(ctx: ServiceContext, person: Person) -> dict[str, Any]:
    services = await _responder(ctx, person, "/services")
    sampler = sampler_of(ctx)
    for row in services:
        series = sampler.series.get(row["service"])
        row["figures"] = {
            name: {
                "values": list(series.values[name]) if series else [],
                "latest": series.latest(name) if series else None,
            }
            for name in FIGURES
        }
    incidents = await _responder(ctx, person, "/incidents", params={"limit": 5})
    return {"services": services, "incidents": incidents, "figures": FIGURES}


@router.get("")
async def board(request: Request, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx) -> Response:
    return render(request, "ops_board.html", person, **await _board(ctx, person))


@router.get("/board")
async def board_fragment(
    request: Request, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx
) -> HTMLResponse:
    """The board's body, refreshed every few seconds by the page."""
    return HTMLResponse(fragment(request, "_ops_board.html", person, **await _board(ctx, person)))


@router.get("/incidents")
async def incidents(request: Request, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx) -> Response:
    items = await _responder(ctx, person, "/incidents", params={"limit": 100})
    return render(request, "ops_incidents.html", person, incidents=items)


@router.get("/incidents/{incident_id}")
async def incident(
    request: Request, incident_id: IncidentId, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx
) -> Response:
    found = await _responder(ctx, person, f"/incidents/{incident_id}")
    response = await backends_of(ctx).person(person, "GET", "responder", f"/incidents/{incident_id}/postmortem")
    postmortem = Markup(_nested_headings(MARKDOWN.render(response.text)))  # html off: markdown-it escapes it
    notice = (
        await backends_of(ctx).person(person, "GET", "responder", f"/incidents/{incident_id}/customer-notice")
    ).text
    approvals = [a for a in await _responder(ctx, person, "/approvals") if a.get("incident_id") == incident_id]
    return render(request, "ops_incident.html", person, incident=found, postmortem=postmortem, notice=notice,
                  approvals=approvals)  # fmt: skip


@router.get("/approvals")
async def approvals(request: Request, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx) -> Response:
    items = await _responder(ctx, person, "/approvals")
    return render(request, "ops_approvals.html", person, approvals=items, done=request.query_params.get("done"))


@router.post("/approvals/{approval_id}")
async def decide(
    approval_id: ApprovalId,
    decision: Annotated[str, Form(pattern="^(approve|deny)$")],
    person: Person = OperatorSignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    """Approve or deny; the responder records the operator's identity from their token (and the name shown here)."""
    body = {"approved": decision == "approve", "by": person.session.email or person.user_id}
    await backends_of(ctx).person(person, "POST", "responder", f"/approvals/{approval_id}", json=body)
    return RedirectResponse(f"/ops/approvals?done={decision}", status_code=303)


@router.get("/audit")
async def audit(request: Request, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx) -> Response:
    entries = await _responder(ctx, person, "/audit", params={"limit": 200})
    return render(request, "ops_audit.html", person, entries=entries)


@router.get("/budgets")
async def budgets(request: Request, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx) -> Response:
    return render(request, "ops_budgets.html", person, budgets=await _responder(ctx, person, "/budgets"))


@router.get("/drills")
async def drills(request: Request, person: Person = OperatorSignedIn, ctx: ServiceContext = Ctx) -> Response:
    data = await _responder(ctx, person, "/drills")
    return render(request, "ops_drills.html", person, drills=data, confirm=None, error=None,
                  started=request.query_params.get("started"))  # fmt: skip


@router.post("/drills/confirm")
async def confirm_drill(
    request: Request,
    fault: Annotated[str, Form(max_length=40)],
    service: Annotated[str, Form(max_length=40)],
    person: Person = OperatorSignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    """Step one of two: say exactly what will happen, and ask for the service's name to be typed."""
    data = await _responder(ctx, person, "/drills")
    return render(request, "ops_drills.html", person, drills=data, confirm={"fault": fault, "service": service},
                  error=None, started=None)  # fmt: skip


@router.post("/drills")
async def run_drill(
    request: Request,
    fault: Annotated[str, Form(max_length=40)],
    service: Annotated[str, Form(max_length=40)],
    confirm: Annotated[str, Form(max_length=40)] = "",
    person: Person = OperatorSignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    try:
        await backends_of(ctx).person(
            person, "POST", "responder", "/drills", json={"fault": fault, "service": service, "confirm": confirm}
        )
    except FormProblem as problem:
        data = await _responder(ctx, person, "/drills")
        return render(request, "ops_drills.html", person, status_code=problem.status, drills=data,
                      confirm={"fault": fault, "service": service}, error=problem.message, started=None)  # fmt: skip
    return RedirectResponse(f"/ops/drills?started={fault}", status_code=303)
