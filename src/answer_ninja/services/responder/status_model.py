"""What the public status page says about each component, from what the responder sees (pure: no I/O).

Components are what a customer would name: the five services, and three capabilities built from them:
telephony (calls reach us and get an answer: phone-gateway, with realtime-processor carrying the audio), speech
(realtime-processor's recogniser and voices) and AI (conversation-engine and its language model).

A service is *down* when its /health fails or the responder has confirmed it down; *degraded* when it answers
but is not ready, runs on fallbacks (/health ``degraded``), or is part of the open incident; else *operational*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from answer_ninja.ops.models import DependencyProbe, ServiceProbe

State = Literal["operational", "degraded", "down"]
SERVICES = ("phone-gateway", "realtime-processor", "conversation-engine", "profile-analytics", "user-management")
CAPABILITIES = ("telephony", "speech", "ai")
COMPONENTS = SERVICES + CAPABILITIES
SEVERITY: dict[State, int] = {"operational": 0, "degraded": 1, "down": 2}


def worst(states: Iterable[State]) -> State:
    return max(states, key=lambda state: SEVERITY[state], default="operational")


@dataclass(frozen=True)
class Observation:
    probes: Mapping[str, ServiceProbe]
    dependencies: tuple[DependencyProbe, ...] = ()
    confirmed_down: frozenset[str] = frozenset()  # services the responder has confirmed down (flap-filtered)
    incident_services: frozenset[str] = frozenset()  # services of the open incident


def service_state(name: str, observation: Observation) -> State:
    probe = observation.probes.get(name)
    if name in observation.confirmed_down or probe is None or not probe.health_ok:
        return "down"
    if not probe.ready_ok or probe.degraded or name in observation.incident_services:
        return "degraded"
    return "operational"


def component_states(observation: Observation) -> dict[str, State]:
    states: dict[str, State] = {name: service_state(name, observation) for name in SERVICES}
    gateway, media = states["phone-gateway"], states["realtime-processor"]
    # Calls still reach us (and fall back) while the media service is away: telephony is degraded, not down.
    states["telephony"] = (
        "down" if gateway == "down" else worst([gateway, "degraded" if media != "operational" else media])
    )
    states["speech"] = media
    llm_down = any(not dependency.ok and dependency.kind == "provider" for dependency in observation.dependencies)
    engine = states["conversation-engine"]
    states["ai"] = "down" if engine == "down" else worst([engine, "degraded" if llm_down else "operational"])
    return states


def overall(states: Mapping[str, State]) -> State:
    return worst(states.values())
