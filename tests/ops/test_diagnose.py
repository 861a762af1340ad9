"""Runbook step 3 from evidence: each failure mode and cause, and the evidence a person reads."""

from __future__ import annotations

from answer_ninja.ops.diagnose import diagnose, root_failures
from answer_ninja.ops.models import Cause, FailureMode
from answer_ninja.ops.platforms.base import InstanceState
from tests.ops.factories import dead, down, instance, node, observation, ok, revisions, unready


def test_a_killed_service_is_mode_a_with_its_exit_as_evidence() -> None:
    found = diagnose(
        observation(
            dead("phone-gateway"),
            instances={
                "phone-gateway": [instance("phone-gateway", InstanceState.CRASH_LOOP, reason="Killed", crashes=1)]
            },
        )
    )
    assert found.mode == FailureMode.SINGLE_SERVICE
    assert found.causes == {"phone-gateway": Cause.KILLED}
    assert any("CrashLoopBackOff" in line and "Killed" in line for line in found.evidence)


def test_running_but_not_answering_is_a_hang() -> None:
    found = diagnose(
        observation(
            dead("conversation-engine", "timed out"),
            instances={"conversation-engine": [instance("conversation-engine")]},
        )
    )
    assert found.causes == {"conversation-engine": Cause.HANG}
    assert any("timed out" in line for line in found.evidence)


def test_crash_loop_after_a_config_change_is_bad_config_naming_the_key() -> None:
    found = diagnose(
        observation(
            dead("phone-gateway"),
            instances={"phone-gateway": [instance("phone-gateway", InstanceState.CRASH_LOOP, code=2, crashes=2)]},
            config_changed_keys=["LOG_LEVEL"],
        )
    )
    assert found.causes == {"phone-gateway": Cause.BAD_CONFIG}
    assert any("LOG_LEVEL" in line for line in found.evidence)


def test_crash_loop_without_config_change_is_a_crash_loop() -> None:
    found = diagnose(
        observation(
            dead("phone-gateway"),
            instances={"phone-gateway": [instance("phone-gateway", InstanceState.CRASH_LOOP, code=1, crashes=3)]},
        )
    )
    assert found.causes == {"phone-gateway": Cause.CRASH_LOOP}


def test_not_ready_since_a_recent_revision_is_a_bad_release() -> None:
    found = diagnose(
        observation(
            dead("profile-analytics"),
            instances={"profile-analytics": [instance("profile-analytics", revision=2)]},
            revisions={"profile-analytics": revisions(2, age_seconds=30)},
        )
    )
    assert found.causes == {"profile-analytics": Cause.BAD_RELEASE}
    assert any("revision 2" in line for line in found.evidence)


def test_an_old_revision_is_not_blamed() -> None:
    found = diagnose(
        observation(
            dead("profile-analytics", "timed out"),
            instances={"profile-analytics": [instance("profile-analytics", revision=2)]},
            revisions={"profile-analytics": revisions(2, age_seconds=7200)},
        )
    )
    assert found.causes == {"profile-analytics": Cause.HANG}


def test_oom_killed_is_named() -> None:
    found = diagnose(
        observation(
            dead("realtime-processor"),
            instances={
                "realtime-processor": [instance("realtime-processor", InstanceState.CRASH_LOOP, reason="OOMKilled")]
            },
        )
    )
    assert found.causes == {"realtime-processor": Cause.OOM}


def test_a_service_unready_only_because_a_dead_callee_is_a_cascade_not_a_cause() -> None:
    probes = observation(dead("conversation-engine"), unready("realtime-processor", "conversation-engine")).probes
    roots, cascaded = root_failures(probes)
    assert roots == ["conversation-engine"]
    assert cascaded == {"realtime-processor": ["conversation-engine"]}
    assert diagnose(observation(*probes.values())).mode == FailureMode.SINGLE_SERVICE


def test_two_dead_services_are_mode_b() -> None:
    found = diagnose(observation(dead("phone-gateway"), dead("conversation-engine")))
    assert found.mode == FailureMode.MULTIPLE_SERVICES
    assert sorted(found.services) == ["conversation-engine", "phone-gateway"]


def test_memory_pressure_makes_even_one_failure_mode_b_but_cpu_load_does_not() -> None:
    assert (
        diagnose(observation(dead("phone-gateway"), nodes=[node(memory_pressure=True)])).mode
        == FailureMode.MULTIPLE_SERVICES
    )
    busy = diagnose(observation(dead("phone-gateway"), nodes=[node(cpu_pressure=True)]))
    assert busy.mode == FailureMode.SINGLE_SERVICE
    assert any("CPU load" in line for line in busy.evidence)


def test_a_dependency_down_is_mode_c_naming_who_reports_it() -> None:
    found = diagnose(
        observation(
            unready("phone-gateway", "postgres"),
            unready("profile-analytics", "postgres"),
            ok("conversation-engine"),
            dependencies=[down("postgres")],
        )
    )
    assert found.mode == FailureMode.DEPENDENCY
    assert found.dependencies_down == ["postgres"]
    assert set(found.causes) == {"phone-gateway", "profile-analytics"}
    assert "conversation-engine" not in found.services
    assert any("/ready of phone-gateway, profile-analytics names postgres" in line for line in found.evidence)
