"""The forgotten-password door: ask for a reset link (``/api/v1/auth/password-reset``), then set a new password
with it (``/api/v1/auth/password-reset/confirm``). The flow and its protections: ``password_reset.py``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.rules import public
from answer_ninja.services.user_management import accounts, password_reset
from answer_ninja.services.user_management.schemas import RequestModel

router = APIRouter()
Ctx = Depends(context_of)


class ResetRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ResetConfirm(RequestModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=20, max_length=2000)
    password: str = Field(min_length=8, max_length=256)


class ResetAccepted(BaseModel):
    """The same answer whether or not the email has an account."""

    status: Literal["accepted"] = "accepted"
    message: str = "If this email has an account, a link to choose a new password is on its way (valid 30 minutes)."


@router.post(
    "/api/v1/auth/password-reset",
    status_code=202,
    response_model=ResetAccepted,
    tags=["auth"],
    dependencies=[Depends(public("forgotten password: anyone may ask; the link goes only to the account's email"))],
)
async def ask_for_reset(
    body: ResetRequest, request: Request, background: BackgroundTasks, ctx: ServiceContext = Ctx
) -> ResetAccepted:
    """Send a reset link to the account's address, if there is such an account. The answer is the same either way
    and comes before the lookup (the mail goes out in the background). 429 past 3 links per email or 10 per client
    address in an hour."""
    email = body.email.strip().lower()
    per_email, per_address = password_reset.quotas(ctx)
    await per_address.take(accounts.client_address(request), "address")
    await per_email.take(email, "email")
    background.add_task(password_reset.request_link, ctx, email=email)
    return ResetAccepted()


@router.post(
    "/api/v1/auth/password-reset/confirm",
    status_code=204,
    tags=["auth"],
    dependencies=[Depends(public("the signed, single-use reset link in the body is the credential"))],
)
async def confirm_reset(body: ResetConfirm, ctx: ServiceContext = Ctx) -> Response:
    """Set a new password with a reset link; every session signed in before is signed out. 401 naming ``token``
    when the link is expired, forged or already used."""
    await password_reset.reset_password(ctx, token=body.token, password=body.password)
    return Response(status_code=204)
