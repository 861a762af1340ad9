"""Server secrets (JWT signing, caller hashing): from the settings, or a per-process one and a degraded flag."""

from __future__ import annotations

import secrets

from pydantic import SecretStr

from answer_ninja.platform.app_factory import ServiceContext


def secret_bytes(ctx: ServiceContext, name: str) -> bytes:
    """The secret ``name`` (``jwt_secret`` | ``profile_hash_secret``) as bytes, generated once if unset.

    A generated secret lets the service run (nothing crashes), but tokens and caller hashes are then not shared
    with other processes, so the service reports itself degraded until the secret is configured.
    """
    cached = ctx.extras.get(f"secret:{name}")
    if isinstance(cached, bytes):
        return cached
    configured: SecretStr | None = getattr(ctx.settings, name)
    if configured is not None and configured.get_secret_value():
        value = configured.get_secret_value().encode()
    else:
        value = secrets.token_bytes(32)
        ctx.health.set_degraded(name, f"{name.upper()} is not set: using a per-process random one")
    ctx.extras[f"secret:{name}"] = value
    return value
