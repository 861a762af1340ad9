"""``answer-ninja up``: migrate the embedded database, start every service, serve the control API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import httpx
import uvicorn

from answer_ninja.platform.db.migrate import upgrade
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.machine_secrets import (
    SERVICE_SECRETS,
    SUPERVISOR_SECRET_HOLDER,
    SUPERVISOR_SECRETS,
    ensure_machine_secrets,
    owner_only,
    secure_tree,
)
from answer_ninja.platform.settings import Settings
from answer_ninja.supervisor.control_api import create_control_app
from answer_ninja.supervisor.supervisor import Supervisor

log = get_logger(__name__)


def local_secrets(settings: Settings) -> dict[str, str]:
    """Secrets every local process shares (people's tokens, caller hashing, internal tokens, the operator's token),
    generated once and kept in DATA_DIR/secrets.json (0600). Explicit environment values win."""
    stored = ensure_machine_secrets(settings.data_dir)
    return {name: stored[name] for name in SERVICE_SECRETS if getattr(settings, name.lower()) is None}


def holder_secrets(settings: Settings) -> dict[str, str]:
    """SUPERVISOR_SECRETS (the control API's token, Alertmanager's) for the one service that uses them."""
    stored = ensure_machine_secrets(settings.data_dir)
    values = {}
    for name in SUPERVISOR_SECRETS:
        configured = getattr(settings, name.lower())
        values[name] = configured.get_secret_value() if configured is not None else stored[name]
    return values


async def wait_until_ready(urls: dict[str, str], timeout: float) -> dict[str, bool]:
    """Poll each service's /ready until all pass or ``timeout`` runs out; return who got ready."""
    ready = dict.fromkeys(urls, False)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1.0) as client:
        while not all(ready.values()) and time.monotonic() < deadline:
            for name, url in urls.items():
                if not ready[name]:
                    with contextlib.suppress(httpx.HTTPError):
                        ready[name] = (await client.get(url + "/ready")).status_code == 200
            if not all(ready.values()):
                await asyncio.sleep(0.1)
    return ready


class _ControlServer(uvicorn.Server):
    """uvicorn without its own signal handling: the stack stops services first, then this server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_stack(
    settings: Settings,
    *,
    services: Iterable[str] | None = None,
    on_ready: Callable[[Supervisor, dict[str, bool], float], None] | None = None,
    ready_timeout: float = 60.0,
) -> None:
    started = time.perf_counter()
    # Owner only, for everything the stack writes from here on (databases, logs, state) and by every child.
    os.umask(0o077)
    secure_tree(settings.data_dir)
    if settings.database_kind == "sqlite":
        sqlite_file = Path(settings.database_url.split(":///", 1)[-1])
        for path in (sqlite_file, *sqlite_file.parent.glob(sqlite_file.name + "-*")):
            owner_only(path)
    await asyncio.to_thread(upgrade, settings.database_url)
    private = holder_secrets(settings)
    supervisor = Supervisor(
        settings,
        services=services,
        env=local_secrets(settings),
        private_env={SUPERVISOR_SECRET_HOLDER: private},
    )
    control = _ControlServer(
        uvicorn.Config(
            create_control_app(supervisor, token=private["SUPERVISOR_TOKEN"]),
            host="127.0.0.1",
            port=settings.supervisor_port,
            log_config=None,
            access_log=False,
        )
    )
    # We own the signals: the first Ctrl-C stops services gracefully, then the control API.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    supervisor.start_all()
    control_task = asyncio.create_task(control.serve())
    urls = {name: f"http://127.0.0.1:{process.spec.port}" for name, process in supervisor.processes.items()}
    ready = await wait_until_ready(urls, ready_timeout)
    if on_ready is not None:
        on_ready(supervisor, ready, time.perf_counter() - started)
    await stop.wait()
    log.info("stack_stopping")
    await supervisor.stop_all()
    control.should_exit = True
    await control_task
