"""Access rules as data: each access dependency carries the rule it enforces, and every route must have one.

A dependency is marked with ``mark(function, AccessRule(...))``. ``require_declared(app)`` walks every route's
dependency tree and raises ConfigurationError naming a route without a rule (default deny, at build time);
``access_map(app)`` lists every door with its rule (docs/security.md's table and the tests that attack them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount, Route

from answer_ninja.errors import ConfigurationError

RuleKind = Literal["public", "user", "operator", "service", "carrier", "stream", "alertmanager"]

_ATTRIBUTE = "__access_rule__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AccessRule:
    """Who may use a door. ``detail`` says which ones (callers, carrier, why it is public)."""

    kind: RuleKind
    detail: str = ""

    def describe(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


@dataclass(frozen=True)
class Door:
    methods: tuple[str, ...]
    path: str
    rules: tuple[AccessRule, ...]


def mark(function: F, rule: AccessRule) -> F:
    """Declare that the dependency ``function`` enforces ``rule``."""
    setattr(function, _ATTRIBUTE, rule)
    return function


def rule_of(function: object) -> AccessRule | None:
    rule = getattr(function, _ATTRIBUTE, None)
    return rule if isinstance(rule, AccessRule) else None


def public(reason: str) -> Callable[[], None]:
    """A dependency for a door anyone may use on purpose (liveness probes, sign-up, the status page)."""

    def open_door() -> None:
        return None

    return mark(open_door, AccessRule("public", reason))


def _rules(dependant: Dependant) -> Iterator[AccessRule]:
    rule = rule_of(dependant.call)
    if rule is not None:
        yield rule
    for child in dependant.dependencies:
        yield from _rules(child)


def _docs_paths(app: FastAPI) -> set[str]:
    paths = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    return {path for path in paths if path}


def public_mount(app: FastAPI, path: str, reason: str) -> None:
    """Declare a mounted sub-application (static files) as public, with the reason."""
    app.state.public_mounts = {**_public_mounts(app), path: AccessRule("public", reason)}


def _public_mounts(app: FastAPI) -> dict[str, AccessRule]:
    mounts: dict[str, AccessRule] = getattr(app.state, "public_mounts", {})
    return mounts


def access_map(app: FastAPI) -> list[Door]:
    """Every door of ``app`` with the rules its dependencies enforce (empty rules = undeclared).

    Routes of included routers are seen as FastAPI serves them (``iter_route_contexts``), with the router's own
    dependencies merged in.
    """
    doors: list[Door] = []
    docs = _docs_paths(app)
    mounts = _public_mounts(app)
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = str(context.path)
        if isinstance(route, APIRoute):
            doors.append(Door(tuple(sorted(context.methods or ())), path, tuple(_rules(context.dependant))))
        elif isinstance(route, APIWebSocketRoute):
            doors.append(Door(("WEBSOCKET",), path, tuple(_rules(context.dependant))))
        elif isinstance(route, Route) and path in docs:
            doors.append(Door(tuple(sorted(context.methods or ())), path, (AccessRule("public", "API schema"),)))
        elif isinstance(route, Mount) and path in mounts:
            doors.append(Door(("GET",), path + "/{path}", (mounts[path],)))
        else:
            doors.append(Door((type(route).__name__,), path, ()))
    return doors


def require_declared(app: FastAPI) -> None:
    """Default deny at build time: every door must declare who may use it."""
    undeclared = [f"{' '.join(door.methods)} {door.path}" for door in access_map(app) if not door.rules]
    if undeclared:
        raise ConfigurationError(f"{app.title}: routes with no access rule: {', '.join(undeclared)}")
