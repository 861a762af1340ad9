"""HTTP control API of the local supervisor (127.0.0.1 only): what kubectl is to a cluster, for ``up``.

``answer-ninja status`` and the responder's local platform use it.
"""

from __future__ import annotations

import signal
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from answer_ninja import __version__
from answer_ninja.supervisor.process import ManagedProcess
from answer_ninja.supervisor.supervisor import Supervisor

ALLOWED_SIGNALS = {"SIGSTOP", "SIGCONT", "SIGKILL", "SIGTERM", "SIGINT"}


class ConfigPatch(BaseModel):
    data: dict[str, str | None] = Field(description="Keys to set; null removes a key")


class SignalRequest(BaseModel):
    signal: str = Field(description="One of SIGSTOP, SIGCONT, SIGKILL, SIGTERM, SIGINT")


def create_control_app(supervisor: Supervisor) -> FastAPI:
    app = FastAPI(title="answer-ninja supervisor", version=__version__)

    def process_or_404(name: str) -> ManagedProcess:
        try:
            return supervisor.get(name)
        except KeyError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "service": "supervisor", "version": __version__}

    @app.get("/config")
    async def config() -> dict[str, str]:
        return dict(supervisor.config)

    @app.patch("/config")
    async def patch_config(patch: ConfigPatch) -> dict[str, str]:
        return supervisor.patch_config(patch.data)

    @app.get("/services")
    async def services() -> list[dict[str, Any]]:
        return supervisor.status()

    @app.get("/services/{name}")
    async def service(name: str) -> dict[str, Any]:
        process = process_or_404(name)
        return {**process.status(), "events": [event.as_dict() for event in process.events]}

    @app.get("/services/{name}/logs")
    async def logs(name: str, tail: int = Query(default=50, ge=1, le=200)) -> dict[str, Any]:
        process = process_or_404(name)
        return {"name": name, "lines": list(process.logs)[-tail:]}

    @app.get("/services/{name}/events")
    async def events(name: str) -> list[dict[str, str]]:
        return [event.as_dict() for event in process_or_404(name).events]

    @app.post("/services/{name}/restart")
    async def restart(name: str) -> dict[str, Any]:
        process = process_or_404(name)
        await process.restart()
        return process.status()

    @app.post("/services/{name}/stop")
    async def stop(name: str) -> dict[str, Any]:
        process = process_or_404(name)
        await process.stop()
        return process.status()

    @app.post("/services/{name}/start")
    async def start(name: str) -> dict[str, Any]:
        process = process_or_404(name)
        process.start()
        return process.status()

    @app.post("/services/{name}/signal")
    async def send_signal(name: str, request: SignalRequest) -> dict[str, Any]:
        if request.signal not in ALLOWED_SIGNALS:
            raise HTTPException(status_code=422, detail=f"signal must be one of {sorted(ALLOWED_SIGNALS)}")
        process = process_or_404(name)
        if not process.send_signal(signal.Signals[request.signal]):
            raise HTTPException(status_code=409, detail=f"{name} has no running process")
        return process.status()

    return app
