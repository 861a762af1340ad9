from __future__ import annotations

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.settings import load_settings
from answer_ninja.services.user_management.app import SPEC


def test_configured_secret_is_used_and_not_degraded() -> None:
    ctx = ServiceContext(spec=SPEC, settings=load_settings(jwt_secret="s" * 32))
    assert secret_bytes(ctx, "jwt_secret") == b"s" * 32
    assert not ctx.health.degraded


def test_missing_secret_is_generated_once_and_reported_degraded() -> None:
    ctx = ServiceContext(spec=SPEC, settings=load_settings(jwt_secret=None))
    first = secret_bytes(ctx, "jwt_secret")
    assert len(first) == 32
    assert secret_bytes(ctx, "jwt_secret") == first  # stable for the process
    assert ctx.health.degraded
    assert "JWT_SECRET" in ctx.health.degraded_reasons["jwt_secret"]
    assert "s" * 8 not in str(ctx.health.degraded_reasons)  # never the value
