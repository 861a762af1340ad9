"""What a revision or an app-config change may contain (pure): the service's own entry point, settings, nothing else.

A revision of a service may change its environment (settings names only: no PATH, LD_PRELOAD, PYTHONPATH ...
that would run foreign code) and its command-line flags (``--port``), never the program: the argv must be the
service's own ``python -m answer_ninja.platform.server NAME [--port N]``. The secrets only the supervisor hands
out (SUPERVISOR_SECRETS) are never set through the API.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from answer_ninja.platform.machine_secrets import SUPERVISOR_SECRETS
from answer_ninja.platform.settings import Settings

SERVER_MODULE = "answer_ninja.platform.server"
# Flags of answer_ninja.platform.server a revision may pass, with the check of their value.
ALLOWED_FLAGS = {"--port": lambda value: value.isdigit() and 1 <= int(value) <= 65535}


class RevisionRefusedError(ValueError):
    """A change the control API refuses; the message names the field (env, argv, data) and why."""


def settings_names() -> frozenset[str]:
    """Environment names the services read (Settings fields, upper-case), less the supervisor's own secrets."""
    return frozenset(name.upper() for name in Settings.model_fields) - set(SUPERVISOR_SECRETS)


def check_env_keys(keys: Iterable[str], field: str) -> None:
    allowed = settings_names()
    refused = sorted(key for key in keys if key not in allowed)
    if refused:
        raise RevisionRefusedError(
            f"{field}: not a setting of answer-ninja (refused: {', '.join(refused)}); "
            "only the names in platform/settings.py may be set"
        )


def check_argv(service: str, argv: list[str] | None) -> None:
    """None (the default command) or the service's own entry point with known flags."""
    if argv is None:
        return
    expected_head = [sys.executable, "-m", SERVER_MODULE, service]
    if argv[: len(expected_head)] != expected_head:
        raise RevisionRefusedError(
            f"argv: must start with {expected_head!r} (the service's own entry point); "
            "omit argv to keep the default command"
        )
    flags = argv[len(expected_head) :]
    if len(flags) % 2:
        raise RevisionRefusedError(f"argv: every flag needs a value (allowed: {', '.join(ALLOWED_FLAGS)})")
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        check = ALLOWED_FLAGS.get(flag)
        if check is None:
            raise RevisionRefusedError(f"argv: flag {flag!r} is not allowed (allowed: {', '.join(ALLOWED_FLAGS)})")
        if not check(value):
            raise RevisionRefusedError(f"argv: bad value for {flag}")


def check_revision(service: str, *, env: Mapping[str, str], argv: list[str] | None) -> None:
    check_env_keys(env, "env")
    check_argv(service, argv)


def check_config(changes: Mapping[str, str | None]) -> None:
    """app-config is every service's environment: settings names only."""
    check_env_keys(changes, "data")
