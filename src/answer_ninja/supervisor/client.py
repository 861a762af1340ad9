"""Client of the supervisor's control API, for the CLI and the responder's local platform."""

from __future__ import annotations

from typing import Any

import httpx


class SupervisorUnavailableError(RuntimeError):
    pass


class SupervisorClient:
    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

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
