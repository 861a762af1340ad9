"""Client of the supervisor's control API, for the CLI and the responder's local platform.

It sends SUPERVISOR_TOKEN by itself (the environment, else DATA_DIR/secrets.json), so no command asks for it, and
waits longer than a restart can take (stop with SHUTDOWN_GRACE_SECONDS, then start).
"""

from __future__ import annotations

from typing import Any

import httpx

from answer_ninja.platform.machine_secrets import machine_secret
from answer_ninja.platform.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 5.0
# Beyond the shutdown grace a restart (or a rollout of two instances) needs to start the process again.
RESTART_MARGIN_SECONDS = 15.0


class SupervisorUnavailableError(RuntimeError):
    pass


class SupervisorRefusedError(SupervisorUnavailableError):
    """The supervisor answered but refused this client (no or wrong token, foreign Host)."""


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:200]
    except ValueError:
        return response.text[:200]


def supervisor_token(settings: Settings) -> str | None:
    configured = settings.supervisor_token.get_secret_value() if settings.supervisor_token else None
    return configured or machine_secret(settings.data_dir, "SUPERVISOR_TOKEN")


def control_timeout(settings: Settings) -> float:
    """Longer than the slowest call the API answers: a rollout stops (grace) and starts each instance."""
    return max(DEFAULT_TIMEOUT_SECONDS, 2 * settings.shutdown_grace_seconds + RESTART_MARGIN_SECONDS)


class SupervisorClient:
    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, headers=headers)

    @classmethod
    def for_settings(cls, settings: Settings, base_url: str | None = None) -> SupervisorClient:
        """The client every command and the responder use: the configured supervisor, its token, a long timeout."""
        return cls(
            base_url or f"http://127.0.0.1:{settings.supervisor_port}",
            token=supervisor_token(settings),
            timeout=control_timeout(settings),
        )

    async def __aenter__(self) -> SupervisorClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise SupervisorUnavailableError(
                f"the supervisor at {self._http.base_url} is not answering ({type(error).__name__}); "
                "is `answer-ninja up` running?"
            ) from None
        if response.status_code in (401, 403, 421):
            raise SupervisorRefusedError(
                f"the supervisor at {self._http.base_url} refused the request ({response.status_code}: "
                f"{_detail(response)}); answer-ninja reads SUPERVISOR_TOKEN from the environment or "
                "DATA_DIR/secrets.json: is DATA_DIR the one `answer-ninja up` runs with?"
            )
        response.raise_for_status()
        return response.json()

    async def services(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request("GET", "/services")
        return result

    async def service(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/services/{name}")
        return result

    async def logs(self, name: str, tail: int = 50) -> list[str]:
        result = await self._request("GET", f"/services/{name}/logs", params={"tail": tail})
        return list(result["lines"])

    async def restart(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", f"/services/{name}/restart")
        return result

    async def stop(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", f"/services/{name}/stop")
        return result

    async def start(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", f"/services/{name}/start")
        return result

    async def signal(self, name: str, signal_name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", f"/services/{name}/signal", json={"signal": signal_name})
        return result

    async def config(self) -> dict[str, str]:
        result: dict[str, str] = await self._request("GET", "/config")
        return result

    async def patch_config(self, data: dict[str, str | None]) -> dict[str, str]:
        result: dict[str, str] = await self._request("PATCH", "/config", json={"data": data})
        return result

    async def instances(self, name: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request("GET", f"/services/{name}/instances")
        return result

    async def events(self, name: str) -> list[dict[str, str]]:
        result: list[dict[str, str]] = await self._request("GET", f"/services/{name}/events")
        return result

    async def revisions(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/services/{name}/revisions")
        return result

    async def deploy(
        self, name: str, *, env: dict[str, str], change_cause: str, argv: list[str] | None = None
    ) -> dict[str, Any]:
        body = {"env": env, "argv": argv, "change_cause": change_cause}
        result: dict[str, Any] = await self._request("POST", f"/services/{name}/revisions", json=body)
        return result

    async def rollback(self, name: str, *, to: int | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", f"/services/{name}/rollback", json={"to": to})
        return result

    async def scale(self, name: str, replicas: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", f"/services/{name}/scale", json={"replicas": replicas})
        return result

    async def set_limits(self, name: str, memory_mb: int | None) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("PUT", f"/services/{name}/limits", json={"memory_mb": memory_mb})
        return result

    async def routes(self) -> dict[str, str]:
        result: dict[str, str] = await self._request("GET", "/routes")
        return result

    async def switch_route(self, name: str, target: str) -> dict[str, str]:
        result: dict[str, str] = await self._request("PUT", f"/routes/{name}", json={"target": target})
        return result

    async def node(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", "/node")
        return result
