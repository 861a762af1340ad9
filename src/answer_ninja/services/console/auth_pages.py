"""Sign up, sign in, sign out, and the language switch: the console's only public pages besides /status."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.rules import public
from answer_ninja.platform.auth.tokens import InvalidTokenError, decode_user_token
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.console import i18n
from answer_ninja.services.console.auth import (
    CsrfChecked,
    Person,
    SignedIn,
    codec_of,
    current_session,
    set_session_cookie,
)
from answer_ninja.services.console.backends import BackendError, FormProblem, backends_of
from answer_ninja.services.console.rendering import render
from answer_ninja.services.console.security import cookie_header, pending_cookies, wants_secure_cookies
from answer_ninja.services.console.sessions import CSRF_COOKIE, CSRF_MAX_AGE_SECONDS, LANGUAGE_COOKIE, Session

log = get_logger(__name__)
router = APIRouter(dependencies=[CsrfChecked])
Ctx = Depends(context_of)
SIGN_IN_PAGE = [Depends(public("sign-in and sign-up pages: the password is the credential"))]
LANGUAGE_SWITCH = [Depends(public("language switch: sets a display cookie, nothing else"))]
HOME = [Depends(public("the front door: redirects to the calls or to sign-in"))]
ONE_YEAR = 365 * 24 * 3600
# Sign-up and sign-in hash a password (argon2, deliberately slow; bounded and queued by user-management): on a busy
# machine that takes seconds, so these two calls wait longer than a page's reads.
PASSWORD_HASHING_SECONDS = 20.0


def safe_next(target: str | None, default: str = "/calls") -> str:
    """Only a path on this console (no scheme, no host, no //evil.example): no open redirect after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _new_csrf_cookie(request: Request, ctx: ServiceContext) -> None:
    """A fresh CSRF token at sign-in (whatever token a page had before belongs to the anonymous visit)."""
    token, signed = codec_of(ctx).new_csrf()
    secure = wants_secure_cookies(request.scope, ctx.settings.console_cookie_secure)
    pending_cookies(request.state).append(
        cookie_header(CSRF_COOKIE, signed, max_age=CSRF_MAX_AGE_SECONDS, secure=secure, same_site="Strict")
    )
    request.state.csrf = token


async def _sign_in(request: Request, ctx: ServiceContext, email: str, password: str) -> Session:
    pair = await backends_of(ctx).person_json(
        None, "POST", "user-management", "/api/v1/auth/login", json={"email": email, "password": password},
        timeout=PASSWORD_HASHING_SECONDS,
    )  # fmt: skip
    claims = decode_user_token(secret_bytes(ctx, "jwt_secret"), pair["access_token"], expected="access")
    person = Person(Session(pair["access_token"], pair["refresh_token"], claims.user_id, claims.role, email, ""))
    me = await backends_of(ctx).person_json(person, "GET", "user-management", "/api/v1/me")
    session = Session(
        access=pair["access_token"],
        refresh=pair["refresh_token"],
        user_id=claims.user_id,
        role=claims.role,
        email=str(me.get("email", email)),
        language=str(me.get("language", i18n.DEFAULT_LANGUAGE)),
    )
    set_session_cookie(request, ctx, session)
    _new_csrf_cookie(request, ctx)
    log.info("console_sign_in", user_id=claims.user_id, role=claims.role)
    return session


@router.get("/", dependencies=HOME, include_in_schema=False)
async def home(request: Request, ctx: ServiceContext = Ctx) -> Response:
    session = await current_session(request, ctx)
    return RedirectResponse("/calls" if session is not None else "/login", status_code=303)


@router.get("/login", dependencies=SIGN_IN_PAGE)
async def login_page(request: Request, next: str | None = None, ctx: ServiceContext = Ctx) -> Response:
    if await current_session(request, ctx) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", None, next=safe_next(next), error=None, email="")


@router.post("/login", dependencies=SIGN_IN_PAGE)
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/calls",
    ctx: ServiceContext = Ctx,
) -> Response:
    try:
        await _sign_in(request, ctx, email.strip(), password)
    except (BackendError, InvalidTokenError) as error:
        status = getattr(error, "status", 401)
        key = {429: "auth.throttled", 503: "error.unavailable"}.get(status, "auth.wrong")
        set_session_cookie(request, ctx, None)
        return render(request, "login.html", None, status_code=401 if key == "auth.wrong" else status,
                      next=safe_next(next), error=key, email=email)  # fmt: skip
    except Exception:
        return render(request, "login.html", None, status_code=401, next=safe_next(next), error="auth.wrong",
                      email=email)  # fmt: skip
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/signup", dependencies=SIGN_IN_PAGE)
async def signup_page(request: Request) -> Response:
    return render(request, "signup.html", None, error=None, fields={}, form={})


@router.post("/signup", dependencies=SIGN_IN_PAGE)
async def signup(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    display_name: Annotated[str, Form(max_length=120)] = "",
    hosted_number: Annotated[str, Form(max_length=40)] = "",
    real_number: Annotated[str, Form(max_length=40)] = "",
    language: Annotated[str, Form(max_length=10)] = "zh-CN",
    ctx: ServiceContext = Ctx,
) -> Response:
    form = {"email": email, "display_name": display_name, "hosted_number": hosted_number, "real_number": real_number}
    body = {
        "email": email.strip(),
        "password": password,
        "display_name": display_name.strip(),
        "hosted_numbers": [hosted_number.strip()] if hosted_number.strip() else [],
        "language": i18n.supported(language) or i18n.DEFAULT_LANGUAGE,
    }
    if real_number.strip():
        body["real_number"] = real_number.strip()
    try:
        await backends_of(ctx).person_json(
            None, "POST", "user-management", "/api/v1/auth/register", json=body, timeout=PASSWORD_HASHING_SECONDS
        )
        await _sign_in(request, ctx, email.strip(), password)
    except FormProblem as problem:
        fields = {name.split(".")[0]: message for name, message in problem.fields.items()}
        if "hosted_numbers" in fields:
            fields["hosted_number"] = fields.pop("hosted_numbers")
        return render(request, "signup.html", None, status_code=problem.status, error=problem.message,
                      fields=fields, form=form)  # fmt: skip
    except BackendError as error:
        return render(request, "signup.html", None, status_code=error.status, error="error.unavailable",
                      fields={}, form=form)  # fmt: skip
    return RedirectResponse("/calls?welcome=1", status_code=303)


@router.post("/logout")
async def logout(request: Request, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    try:
        await backends_of(ctx).person(
            person, "POST", "user-management", "/api/v1/auth/logout", json={"refresh_token": person.session.refresh}
        )
    except BackendError as error:  # the cookie goes either way; the tokens expire on their own
        log.warning("console_logout_incomplete", error=error.message)
    set_session_cookie(request, ctx, None)
    return RedirectResponse("/login?signed_out=1", status_code=303)


@router.get("/lang/{language}", dependencies=LANGUAGE_SWITCH)
async def switch_language(
    request: Request, language: str, next: str | None = None, ctx: ServiceContext = Ctx
) -> Response:
    chosen = i18n.supported(language) or i18n.DEFAULT_LANGUAGE
    response = RedirectResponse(safe_next(next, default="/"), status_code=303)
    secure = wants_secure_cookies(request.scope, ctx.settings.console_cookie_secure)
    pending_cookies(request.state).append(
        cookie_header(LANGUAGE_COOKIE, chosen, max_age=ONE_YEAR, secure=secure, http_only=False)
    )
    return response


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
