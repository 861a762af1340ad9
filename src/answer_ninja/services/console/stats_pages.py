"""Statistics a person would rather look at than read: calls per day by decision, what callers wanted, and the
minutes of their own time the AI saved (charts drawn on the server, the same numbers in tables beside them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.services.console import charts, i18n
from answer_ninja.services.console.auth import CsrfChecked, Person, SignedIn
from answer_ninja.services.console.backends import backends_of
from answer_ninja.services.console.rendering import render

router = APIRouter(dependencies=[CsrfChecked])
Ctx = Depends(context_of)
DECISIONS = ("ai", "reject", "transfer", "ring")


@router.get("/stats")
async def stats(
    request: Request, days: int = Query(default=30, ge=7, le=90), person: Person = SignedIn, ctx: ServiceContext = Ctx
) -> Response:
    backends = backends_of(ctx)
    daily: dict[str, Any] = await backends.person_json(
        person, "GET", "profile-analytics", "/api/v1/stats/daily", params={"days": days}
    )
    week: dict[str, Any] = await backends.person_json(
        person, "GET", "profile-analytics", "/api/v1/stats", params={"period": "week"}
    )
    t = i18n.translator(i18n.language_of(request, person))
    per_day = [(day["day"], day["decisions"]) for day in daily["days"]]
    return render(
        request,
        "stats.html",
        person,
        daily=daily,
        week=week,
        days=days,
        decisions=DECISIONS,
        per_day_chart=Markup(charts.stacked_bars(per_day, DECISIONS, label=t("stats.per_day_label", days=days))),
        intents_chart=Markup(
            charts.horizontal_bars(
                {t(f"intent.{name}"): count for name, count in daily["intents"].items()}, label=t("stats.intents_label")
            )
        ),
    )
