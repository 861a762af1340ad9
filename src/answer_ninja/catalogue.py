"""The catalogue of deployable services and their ports: the one fact every layer shares.

It lives below ``platform/``, ``ops/``, ``supervisor/`` and ``services/`` (it imports nothing of the package), so
the operations side can name and probe services without importing their code. ``services.registry`` adds how to
build each one's app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    port: int
    module: str  # the package's ``app`` module: ``SPEC`` and ``create_app(settings)``
    core: bool  # one of the four the runbook's ServiceDown alert watches


SERVICES: dict[str, ServiceEntry] = {
    entry.name: entry
    for entry in (
        ServiceEntry("phone-gateway", 3001, "answer_ninja.services.phone_gateway.app", core=True),
        ServiceEntry("realtime-processor", 3002, "answer_ninja.services.realtime_processor.app", core=True),
        ServiceEntry("conversation-engine", 3003, "answer_ninja.services.conversation_engine.app", core=True),
        ServiceEntry("profile-analytics", 3004, "answer_ninja.services.profile_analytics.app", core=True),
        ServiceEntry("user-management", 3005, "answer_ninja.services.user_management.app", core=False),
        ServiceEntry("console", 3006, "answer_ninja.services.console.app", core=False),
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
