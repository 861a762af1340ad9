"""The status page's words for each component, from what the responder sees."""

from __future__ import annotations

from answer_ninja.ops.models import DependencyProbe, ServiceProbe
from answer_ninja.services.responder.status_model import SERVICES, Observation, component_states, overall


def _healthy() -> dict[str, ServiceProbe]:
    return {name: ServiceProbe(name, True, True) for name in SERVICES}


def test_all_well_is_operational() -> None:
    states = component_states(Observation(_healthy()))
    assert set(states.values()) == {"operational"}
    assert overall(states) == "operational"


def test_gateway_down_takes_telephony_down() -> None:
    probes = _healthy()
    probes["phone-gateway"] = ServiceProbe("phone-gateway", False, False, health_error="refused")
    states = component_states(Observation(probes))
    assert states["phone-gateway"] == "down"
    assert states["telephony"] == "down"
    assert states["speech"] == "operational"
    assert overall(states) == "down"


def test_media_down_degrades_telephony_and_downs_speech() -> None:
    states = component_states(Observation(_healthy(), confirmed_down=frozenset({"realtime-processor"})))
    assert states["realtime-processor"] == "down"
    assert states["speech"] == "down"
    assert states["telephony"] == "degraded"  # calls still reach us and fall back


def test_degraded_flags_incidents_and_llm_outage() -> None:
    probes = _healthy()
    probes["conversation-engine"] = ServiceProbe("conversation-engine", True, True, degraded=True)
    observation = Observation(
        probes,
        dependencies=(DependencyProbe("llm", "provider", False, "refused"),),
        incident_services=frozenset({"profile-analytics"}),
    )
    states = component_states(observation)
    assert states["conversation-engine"] == "degraded"
    assert states["ai"] == "degraded"
    assert states["profile-analytics"] == "degraded"
    assert states["user-management"] == "operational"


def test_a_service_nobody_probed_is_down() -> None:
    probes = _healthy()
    del probes["user-management"]
    assert component_states(Observation(probes))["user-management"] == "down"
