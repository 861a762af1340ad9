"""Forgotten password: ask for a reset link (/forgot), then choose a new password with it (/reset?token=...).

User-management does the work (``user_management/password_reset.py``): the same answer for every email, a
single-use 30-minute link by e-mail, every old session signed out. These pages only carry the forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.rules import public
from answer_ninja.services.console.auth import CsrfChecked, SignInRequired, set_session_cookie
from answer_ninja.services.console.auth_pages import PASSWORD_HASHING_SECONDS
from answer_ninja.services.console.backends import BackendError, FormProblem, Throttled, backends_of
from answer_ninja.services.console.rendering import render

router = APIRouter(dependencies=[CsrfChecked])
Ctx = Depends(context_of)
RESET_PAGES = [Depends(public("forgotten password: the e-mailed, signed, single-use link is the credential"))]


@router.get("/forgot", dependencies=RESET_PAGES)
async def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html", None, sent=False, error=None, email="")


@router.post("/forgot", dependencies=RESET_PAGES)
async def forgot(
    request: Request, email: Annotated[str, Form(max_length=320)] = "", ctx: ServiceContext = Ctx
) -> Response:
    try:
        await backends_of(ctx).person_json(
            None, "POST", "user-management", "/api/v1/auth/password-reset", json={"email": email.strip()}
        )
    except Throttled:
        return render(request, "forgot.html", None, status_code=429, sent=False, error="auth.throttled", email=email)
    except FormProblem:
        return render(request, "forgot.html", None, status_code=422, sent=False, error="auth.wrong", email=email)
    except BackendError as error:
        return render(request, "forgot.html", None, status_code=error.status, sent=False, error="error.unavailable",
                      email=email)  # fmt: skip
    return render(request, "forgot.html", None, sent=True, error=None, email="")


@router.get("/reset", dependencies=RESET_PAGES)
async def reset_page(request: Request, token: str = "") -> Response:
    return render(request, "reset.html", None, token=token[:2000], error=None if token else "auth.reset_bad_link")


@router.post("/reset", dependencies=RESET_PAGES)
async def reset(
    request: Request,
    token: Annotated[str, Form(max_length=2000)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    ctx: ServiceContext = Ctx,
) -> Response:
    try:
        await backends_of(ctx).person_json(
            None, "POST", "user-management", "/api/v1/auth/password-reset/confirm",
            json={"token": token, "password": password}, timeout=PASSWORD_HASHING_SECONDS,
        )  # fmt: skip
    except SignInRequired:  # 401: expired, forged or used
        return render(request, "reset.html", None, status_code=401, token="", error="auth.reset_bad_link")
    except FormProblem:
        return render(request, "reset.html", None, status_code=422, token=token, error="auth.password_hint")
    except BackendError as error:
        return render(request, "reset.html", None, status_code=error.status, token=token, error="error.unavailable")
    set_session_cookie(request, ctx, None)  # whoever was signed in on this browser signs in again
    return RedirectResponse("/login?reset=1", status_code=303)
