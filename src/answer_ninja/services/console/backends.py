"""Calls to the other services' public APIs: as the signed-in person (their bearer token, nothing else) or, for the
public status page only, as the console itself (its signed service token, attached by ``ctx.http``).

Each service's answer maps to one console outcome: 401 -> the session is over (sign in again), 404 -> not found
(another person's call looks exactly like a missing one), 409/422 -> a form error naming the field, 429 -> try
later, anything else or no answer -> that service is unavailable (the page says which, and stays up).
"""

from __future__ import annotations

from typing import Any

import httpx

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.console.auth import Person, SignInRequired, people_http

log = get_logger(__name__)


class BackendError(Exception):
    """A service refused or failed a request; ``status`` is what the console answers with."""

    status = 502

    def __init__(self, service: str, message: str) -> None:
        super().__init__(message)
        self.service = service
        self.message = message


class NotFound(BackendError):  # noqa: N818
    status = 404


class FormProblem(BackendError):  # noqa: N818  (a refusal to show in the form, not a fault)
    """The service refused the input (409/422): the message and the fields it named."""

    def __init__(self, service: str, message: str, fields: dict[str, str] | None = None, *, status: int = 422) -> None:
        super().__init__(service, message)
        self.fields = fields or {}
        self.status = status


class Throttled(BackendError):  # noqa: N818
    status = 429


class Unavailable(BackendError):  # noqa: N818
    status = 503


def _detail(response: httpx.Response) -> tuple[str, dict[str, str]]:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200], {}
    if not isinstance(body, dict):
        return str(body)[:200], {}
    fields = {
        str(item.get("field", "")): str(item.get("message", ""))
        for item in body.get("fields") or []
        if isinstance(item, dict)
    }
    message = body.get("detail") or body.get("error") or ""
    if isinstance(message, list):  # FastAPI's own 422 shape
        message = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in message)
    text = str(message)
    if not fields and ": " in text and text.split(": ", 1)[0].replace(".", "").replace("_", "").isalnum():
        name, problem = text.split(": ", 1)  # our services' "field: message" convention
        fields = {name: problem}
    return text[:300], fields


def raise_for(service: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    message, fields = _detail(response)
    if status == 401:
        raise SignInRequired()
    if status == 404:
        raise NotFound(service, message or "not found")
    if status in (400, 409, 413, 422):
        raise FormProblem(service, message, fields, status=422 if status != 409 else 409)
    if status == 403:
        raise NotFound(service, message or "not found")  # a door closed to this person looks like no door
    if status == 429:
        raise Throttled(service, message or "too many requests; try again shortly")
    log.warning("backend_failed", service=service, status=status)
    raise Unavailable(service, f"{service} answered {status}")


class Backends:
    """The console's view of the other services."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def url(self, service: str, path: str) -> str:
        return self.ctx.settings.service_url(service) + path

    async def person(
        self,
        person: Person | None,
        method: str,
        service: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """A request as ``person`` (None: anonymous, for sign-up and sign-in)."""
        headers = {"Authorization": f"Bearer {person.access_token}"} if person is not None else {}
        try:
            response = await people_http(self.ctx).request(
                method,
                self.url(service, path),
                params=params,
                json=json,
                headers=headers,
                timeout=timeout or self.ctx.settings.dependency_timeout_seconds * 2,
            )
        except httpx.HTTPError as error:
            log.warning("backend_unreachable", service=service, error=type(error).__name__)
            raise Unavailable(service, f"{service} is unreachable") from None
        raise_for(service, response)
        return response

    async def person_json(self, person: Person | None, method: str, service: str, path: str, **kwargs: Any) -> Any:
        response = await self.person(person, method, service, path, **kwargs)
        return None if response.status_code == 204 or not response.content else response.json()

    async def console_json(self, service: str, path: str, *, timeout: float | None = None) -> Any:
        """A GET as the console itself (signed service token): the status page's operational data."""
        try:
            response = await self.ctx.require_http().get(
                self.url(service, path), timeout=timeout or self.ctx.settings.dependency_timeout_seconds
            )
        except httpx.HTTPError as error:
            raise Unavailable(service, f"{service} is unreachable ({type(error).__name__})") from None
        if response.status_code >= 400:
            raise Unavailable(service, f"{service} answered {response.status_code}")
        return response.json()


def backends_of(ctx: ServiceContext) -> Backends:
    backends = ctx.extras.get("backends")
    if not isinstance(backends, Backends):
        backends = Backends(ctx)
        ctx.extras["backends"] = backends
    return backends
