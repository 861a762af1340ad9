"""The per-machine secrets of a local installation (``answer-ninja up``), kept in DATA_DIR/secrets.json (0600,
in a 0700 directory): generated once, shared by the local processes, read by ``answer-ninja`` commands so the
operator never types a token. Explicit environment values always win.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

# Secrets every local process may need, by environment name. TWILIO_AUTH_TOKEN and CARRIER_WEBHOOK_SECRET are the
# local loopback carrier's: it signs its webhooks with them exactly as Twilio (or a carrier) would, so the webhooks
# stay locked on a laptop too (a real account's token, set in the environment, always wins).
SERVICE_SECRETS = (
    "JWT_SECRET",
    "PROFILE_HASH_SECRET",
    "INTERNAL_SECRET",
    "OPERATOR_TOKEN",
    "TWILIO_AUTH_TOKEN",
    "CARRIER_WEBHOOK_SECRET",
)
# Only the supervisor and the one that drives it (the responder, the CLI) hold this one: it can stop everything.
# ALERTMANAGER_TOKEN is the responder's alone (what Alertmanager sends to POST /alerts).
SUPERVISOR_SECRETS = ("SUPERVISOR_TOKEN", "ALERTMANAGER_TOKEN")
# The one service the supervisor hands SUPERVISOR_SECRETS to; every other process gets them withheld.
SUPERVISOR_SECRET_HOLDER = "responder"
ALL_SECRETS = SERVICE_SECRETS + SUPERVISOR_SECRETS
FILE_NAME = "secrets.json"


def secure_directory(path: Path) -> Path:
    """Create ``path`` (and parents) readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def secure_tree(root: Path) -> int:
    """``root`` 0700 and nothing under it readable by group or others (databases, logs, secrets written by an
    older version or under another umask); returns how many modes changed. Symlinks are left alone."""
    secure_directory(root)
    changed = 0
    for directory, subdirectories, files in os.walk(root):
        for name in [*subdirectories, *files]:
            changed += owner_only(Path(directory) / name)
    return changed


def owner_only(path: Path) -> int:
    """Drop the group and other bits of ``path`` (1 if it changed); a missing file or a symlink is left alone."""
    with contextlib.suppress(OSError):
        if path.is_symlink():
            return 0
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            path.chmod(mode & 0o700)
            return 1
    return 0


def ensure_machine_secrets(data_dir: Path, names: tuple[str, ...] = ALL_SECRETS) -> dict[str, str]:
    """Every secret in ``names``, generated where missing; the file is written 0600 from its first byte."""
    secure_directory(data_dir)
    path = data_dir / FILE_NAME
    stored = read_machine_secrets(data_dir)
    missing = [name for name in names if not stored.get(name)]
    for name in missing:
        stored[name] = secrets.token_urlsafe(32)
    if missing or not path.exists():
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(stored, handle)
        temporary.replace(path)
    path.chmod(0o600)
    return stored


def read_machine_secrets(data_dir: Path) -> dict[str, str]:
    """The stored secrets, or none when there is no file or this user may not read it."""
    path = data_dir / FILE_NAME
    with contextlib.suppress(OSError, ValueError):
        stored = json.loads(path.read_text())
        if isinstance(stored, dict):
            return {str(key): str(value) for key, value in stored.items()}
    return {}


def machine_secret(data_dir: Path, name: str) -> str | None:
    """One secret for a command-line tool: the environment first, then the machine's file."""
    return os.environ.get(name) or read_machine_secrets(data_dir).get(name) or None
