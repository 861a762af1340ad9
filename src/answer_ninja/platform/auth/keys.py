"""Server secrets as bytes (JWT signing, caller hashing, internal tokens): from the settings, or a per-process
random one and a degraded flag, so a missing secret never crashes a service and never opens a door."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from pydantic import SecretStr

if TYPE_CHECKING:
    from answer_ninja.platform.app_factory import ServiceContext

# What a per-process secret means for each one, shown in /health's degraded reasons.
CONSEQUENCES = {
    "jwt_secret": "sign-ins made here are not accepted by other services",
    "profile_hash_secret": "caller hashes differ from the other services'",
    "internal_secret": "calls between services are refused (not configured)",
}


def secret_bytes(ctx: ServiceContext, name: str) -> bytes:
    """The secret ``name`` (a Settings field) as bytes, generated once per process if unset.

    A generated secret lets the service run, but nothing signed with it is shared with other processes, so the
    service reports itself degraded until the secret is configured.
    """
    cached = ctx.extras.get(f"secret:{name}")
    if isinstance(cached, bytes):
        return cached
    configured: SecretStr | None = getattr(ctx.settings, name)
    if configured is not None and configured.get_secret_value():
        value = configured.get_secret_value().encode()
    else:
        value = secrets.token_bytes(32)
        consequence = CONSEQUENCES.get(name, "not shared with other processes")
        ctx.health.set_degraded(name, f"{name.upper()} is not set: using a per-process random one; {consequence}")
    ctx.extras[f"secret:{name}"] = value
    return value


def is_configured(ctx: ServiceContext, name: str) -> bool:
    configured: SecretStr | None = getattr(ctx.settings, name)
    return configured is not None and bool(configured.get_secret_value())
