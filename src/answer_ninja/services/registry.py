"""The services of the system, their ports, and how to build each one's app.

Each service package has an ``app`` module with ``SPEC`` and ``create_app(settings)``; the registry imports
it lazily so ``answer-ninja serve <service>`` loads only that service's code (and memory).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from urllib.parse import urlparse

from fastapi import FastAPI

from answer_ninja.platform.settings import Settings


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    port: int
    module: str
    core: bool  # one of the four the runbook's ServiceDown alert watches


SERVICES: dict[str, ServiceEntry] = {
    entry.name: entry
    for entry in (
        ServiceEntry("phone-gateway", 3001, "answer_ninja.services.phone_gateway.app", core=True),
        ServiceEntry("realtime-processor", 3002, "answer_ninja.services.realtime_processor.app", core=True),
        ServiceEntry("conversation-engine", 3003, "answer_ninja.services.conversation_engine.app", core=True),
        ServiceEntry("profile-analytics", 3004, "answer_ninja.services.profile_analytics.app", core=True),
        ServiceEntry("user-management", 3005, "answer_ninja.services.user_management.app", core=False),
        ServiceEntry("responder", 3009, "answer_ninja.services.responder.app", core=False),
    )
}

# The runbook's restart order ("services=(phone-gateway realtime-processor conversation-engine ...)").
CORE_SERVICES: tuple[str, ...] = tuple(name for name, entry in SERVICES.items() if entry.core)


class UnknownServiceError(KeyError):
    pass


def entry_for(name: str) -> ServiceEntry:
    try:
        return SERVICES[name]
    except KeyError:
        raise UnknownServiceError(f"unknown service {name!r}; choose from {', '.join(SERVICES)}") from None


def port_for(name: str, settings: Settings) -> int:
    """The port a service listens on: the one in its configured URL (so tests and hosts can move it)."""
    return urlparse(settings.service_url(name)).port or entry_for(name).port


def build_app(name: str, settings: Settings) -> FastAPI:
    module = importlib.import_module(entry_for(name).module)
    app: FastAPI = module.create_app(settings)
    return app
