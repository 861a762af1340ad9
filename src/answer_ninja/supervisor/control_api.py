"""HTTP control API of the local supervisor (127.0.0.1 only): what kubectl is to a cluster, for ``up``.

``answer-ninja status`` and the responder's local platform use it. Every route but ``GET /health`` needs
``Authorization: Bearer <SUPERVISOR_TOKEN>``, a loopback Host and no Origin (``control_auth``); revisions and
app-config changes are limited to the services' own entry point and settings (``revision_rules``).
"""

from __future__ import annotations

import signal
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from answer_ninja import __version__
from answer_ninja.supervisor.control_auth import ControlAuth
from answer_ninja.supervisor.process import ManagedProcess
from answer_ninja.supervisor.revision_rules import RevisionRefusedError
from answer_ninja.supervisor.supervisor import Supervisor

ALLOWED_SIGNALS = {"SIGSTOP", "SIGCONT", "SIGKILL", "SIGTERM", "SIGINT"}


class ConfigPatch(BaseModel):
    data: dict[str, str | None] = Field(description="Keys to set; null removes a key")


class SignalRequest(BaseModel):
    signal: str = Field(description="One of SIGSTOP, SIGCONT, SIGKILL, SIGTERM, SIGINT")


class DeployRequest(BaseModel):
    env: dict[str, str] = Field(default_factory=dict, description="Environment overrides of the new revision")
    argv: list[str] | None = Field(
        default=None,
        min_length=1,
        description="The service's own entry point (python -m answer_ninja.platform.server NAME [--port N]); "
        "null = default",
    )
    change_cause: str = Field(min_length=1, max_length=200)


class RollbackRequest(BaseModel):
    to: int | None = Field(default=None, ge=1, description="Revision number; null = the previous one")


class ScaleRequest(BaseModel):
    replicas: int = Field(ge=1, le=10)


class LimitsRequest(BaseModel):
    memory_mb: int | None = Field(default=None, ge=16, le=65536, description="RSS limit; null = none")


class RouteRequest(BaseModel):
    target: str = Field(min_length=1, description="The service itself or its backup")


def create_control_app(supervisor: Supervisor, *, token: str | None) -> FastAPI:
    """The control API, locked with ``token`` (SUPERVISOR_TOKEN); None locks every route but /health."""
    app = FastAPI(title="answer-ninja supervisor", version=__version__)
    app.add_middleware(ControlAuth, token=token)

    @app.exception_handler(RevisionRefusedError)
    async def refused(_: Request, error: RevisionRefusedError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(error)})

    def process_or_404(name: str) -> ManagedProcess:
        try:
            return supervisor.get(name)
        except KeyError as error:
            raise HTTPException(status_code=404, detail=str(error)) from None

    def service_or_404(name: str) -> None:
        """Deployments are per service (not per backup or replica instance)."""
        if name not in supervisor.processes:
            raise HTTPException(status_code=404, detail=f"unknown service {name!r}")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "service": "supervisor",
            "version": __version__,
            "auth": "configured" if token else "not configured (SUPERVISOR_TOKEN unset: every route refused)",
        }

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

    @app.get("/services/{name}/instances")
    async def instances(name: str) -> list[dict[str, Any]]:
        process_or_404(name)
        return [process.status() for process in supervisor.instances(name)]

    @app.get("/services/{name}/revisions")
    async def revisions(name: str) -> dict[str, Any]:
        process_or_404(name)
        deployment = supervisor.deployment(name)
        return {
            "current": deployment.current,
            "revisions": [vars(record) for record in deployment.revisions],
            "replicas": deployment.replicas,
            "memory_limit_mb": deployment.memory_limit_mb,
        }

    @app.post("/services/{name}/revisions")
    async def deploy(name: str, request: DeployRequest) -> dict[str, Any]:
        service_or_404(name)
        record = await supervisor.deploy(name, env=request.env, argv=request.argv, cause=request.change_cause)
        return vars(record)

    @app.post("/services/{name}/rollback")
    async def rollback(name: str, request: RollbackRequest) -> dict[str, Any]:
        service_or_404(name)
        try:
            record = await supervisor.rollback(name, to=request.to)
        except KeyError as error:
            raise HTTPException(status_code=409, detail=str(error.args[0])) from None
        return vars(record)

    @app.post("/services/{name}/scale")
    async def scale(name: str, request: ScaleRequest) -> dict[str, Any]:
        service_or_404(name)
        await supervisor.scale(name, request.replicas)
        return {"name": name, "replicas": request.replicas}

    @app.put("/services/{name}/limits")
    async def limits(name: str, request: LimitsRequest) -> dict[str, Any]:
        service_or_404(name)
        await supervisor.set_memory_limit(name, request.memory_mb)
        return {"name": name, "memory_mb": request.memory_mb}

    @app.get("/routes")
    async def routes() -> dict[str, str]:
        return {name: supervisor.address(name) for name in supervisor.processes}

    @app.put("/routes/{name}")
    async def switch_route(name: str, request: RouteRequest) -> dict[str, str]:
        service_or_404(name)
        try:
            address = supervisor.switch_traffic(name, request.target)
        except KeyError as error:
            raise HTTPException(status_code=422, detail=str(error.args[0])) from None
        return {"name": name, "target": request.target, "address": address}

    @app.get("/node")
    async def node() -> dict[str, Any]:
        return supervisor.node_status()

    @app.post("/services/{name}/signal")
    async def send_signal(name: str, request: SignalRequest) -> dict[str, Any]:
        if request.signal not in ALLOWED_SIGNALS:
            raise HTTPException(status_code=422, detail=f"signal must be one of {sorted(ALLOWED_SIGNALS)}")
        process = process_or_404(name)
        if not process.send_signal(signal.Signals[request.signal]):
            raise HTTPException(status_code=409, detail=f"{name} has no running process")
        return process.status()

    return app
