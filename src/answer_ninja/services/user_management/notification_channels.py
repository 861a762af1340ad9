"""Where a person wants their call summaries: a small list of channels, each a kind and a target, checked here
(pure: no I/O) and turned into the Apprise URL that profile-analytics' notifier sends to.

| kind     | target the person gives                  | Apprise URL                                 |
|----------|------------------------------------------|---------------------------------------------|
| email    | an address (default: the account's)      | NOTIFY_EMAIL_URL (the SMTP server) + to=    |
| ntfy     | a topic URL, https://ntfy.sh/my-topic    | ntfys://ntfy.sh/my-topic                    |
| webhook  | an https URL that takes a JSON POST      | jsons://host/path                           |
| wecom    | the group robot's key                    | wecombot://KEY                              |
| dingtalk | the robot's access token                 | dingtalk://TOKEN/                           |
| telegram | BOT_TOKEN/CHAT_ID                        | tgram://BOT_TOKEN/CHAT_ID                   |

Targets are the person's own secrets (a robot key is a credential): they are stored, never logged.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

ChannelKind = Literal["email", "ntfy", "webhook", "wecom", "dingtalk", "telegram"]
MAX_CHANNELS = 6

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{8,128}$")
_TELEGRAM = re.compile(r"^\d{3,20}:[A-Za-z0-9_\-]{20,80}/-?[A-Za-z0-9_@]{1,64}$")


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChannelKind
    target: str = Field(default="", max_length=500)
    enabled: bool = True

    @field_validator("target")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        if any(ord(character) < 32 for character in value):
            raise ValueError("must not contain control characters")
        return value.strip()


class Channels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(default_factory=list, max_length=MAX_CHANNELS)


class ChannelError(ValueError):
    """A target that cannot work for its kind; the message says what is expected."""


def _http_url(target: str) -> tuple[str, str, str]:
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelError("must be an http:// or https:// URL")
    return parts.scheme, parts.netloc, parts.path + (f"?{parts.query}" if parts.query else "")


def check(channel: Channel, *, account_email: str) -> None:
    """Raise ChannelError when the channel's target cannot be sent to (an empty email target means the account's)."""
    target = channel.target
    if channel.kind == "email":
        if target and not _EMAIL.match(target):
            raise ChannelError("must be an e-mail address")
    elif channel.kind in ("ntfy", "webhook"):
        _http_url(target)
    elif channel.kind in ("wecom", "dingtalk"):
        if not _TOKEN.match(target):
            raise ChannelError("must be the robot's key or token (letters, digits, - and _)")
    elif channel.kind == "telegram" and not _TELEGRAM.match(target):
        raise ChannelError("must be BOT_TOKEN/CHAT_ID")
    if channel.kind == "email" and not (target or account_email):
        raise ChannelError("no address")


def apprise_url(channel: Channel, *, account_email: str, email_server_url: str | None) -> str | None:
    """The Apprise URL for one enabled channel; None when it cannot be sent (e-mail without an SMTP server)."""
    if not channel.enabled:
        return None
    target = channel.target
    if channel.kind == "email":
        if not email_server_url:
            return None
        separator = "&" if "?" in email_server_url else "?"
        return f"{email_server_url}{separator}to={quote(target or account_email, safe='@')}"
    if channel.kind in ("ntfy", "webhook"):
        scheme, netloc, path = _http_url(target)
        prefix = {"ntfy": "ntfy", "webhook": "json"}[channel.kind] + ("s" if scheme == "https" else "")
        return f"{prefix}://{netloc}{path}"
    if channel.kind == "wecom":
        return f"wecombot://{target}"
    if channel.kind == "dingtalk":
        return f"dingtalk://{target}/"
    return f"tgram://{target}"


def target_host(channel: Channel) -> str | None:
    """The host a webhook or ntfy channel would reach (checked against private addresses before sending)."""
    if channel.kind in ("ntfy", "webhook"):
        return urlsplit(channel.target).hostname
    return None
