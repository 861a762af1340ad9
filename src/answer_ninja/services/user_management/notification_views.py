"""A person's notification channels (``/api/v1/me/notifications``), and the same list for profile-analytics'
notifier (``/internal/v1/users/{user_id}/notifications``), which sends each finished call's summary there."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import UserId, service_caller, unauthorized
from answer_ninja.services.user_management import service
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.notification_channels import ChannelError, Channels, check
from answer_ninja.services.user_management.schemas import id_path

router = APIRouter()
Ctx = Depends(context_of)


class NotificationTargets(Channels):
    """The channels and the account's own address (the default e-mail target) and language."""

    email: str
    language: str


def _channels_of(raw: object) -> Channels:
    return Channels.model_validate({"channels": raw if isinstance(raw, list) else []})


@router.get("/api/v1/me/notifications", response_model=Channels, tags=["account"])
async def get_notifications(user_id: str = UserId, ctx: ServiceContext = Ctx) -> Channels:
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
    if user is None:
        raise unauthorized("user no longer exists")
    return _channels_of(user.notification_channels)


@router.put("/api/v1/me/notifications", response_model=Channels, tags=["account"])
async def put_notifications(body: Channels, user_id: str = UserId, ctx: ServiceContext = Ctx) -> Channels:
    """Replace the channel list; each target is checked for its kind (422 naming ``channels.N.target``)."""
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
        if user is None:
            raise unauthorized("user no longer exists")
        for index, channel in enumerate(body.channels):
            try:
                check(channel, account_email=user.email)
            except ChannelError as error:
                raise field_error(f"channels.{index}.target", f"{channel.kind}: {error}") from None
        kinds = [channel.kind for channel in body.channels]
        if len(set(kinds)) != len(kinds):
            raise field_error("channels", "one channel per kind")
        user.notification_channels = [channel.model_dump() for channel in body.channels]
        await session.commit()
    return body


@router.get(
    "/internal/v1/users/{user_id}/notifications",
    response_model=NotificationTargets,
    tags=["internal"],
    dependencies=[Depends(service_caller("profile-analytics"))],
)
async def notification_targets(user_id: str = id_path(), ctx: ServiceContext = Ctx) -> NotificationTargets:
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="user_id: no such user")
    channels = _channels_of(user.notification_channels).channels
    return NotificationTargets(channels=channels, email=user.email, language=user.language)
