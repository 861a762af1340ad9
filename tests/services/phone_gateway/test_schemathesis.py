"""Property-based requests generated from each service's own OpenAPI schema (schemathesis): never a 5xx.

Examples per operation are kept modest so the three services take about a minute together; the requests go
over real HTTP to the real services on PostgreSQL and Redis. Each example carries one kind of credential, drawn
at random: none, a signed-in person's token, the operator's token, or another service's token (every service
of the catalogue as the caller), so the doors are tried both ways and the handlers behind them are reached.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from answer_ninja.catalogue import SERVICES
from tests.harness.credentials import operator_headers, service_headers
from tests.services.phone_gateway.live import LiveServices, live_services

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES_PER_OPERATION = 12
# Platform endpoints are the foundation's and tested there.
SKIPPED_PATHS = ("/health", "/ready", "/metrics")


@pytest.fixture
def unsigned_live(postgres_url: str, redis_url: str) -> Iterator[LiveServices]:
    """No Twilio token, so generated Twilio webhooks reach the handlers instead of stopping at the signature."""
    with live_services(postgres_url, redis_url, twilio_auth_token=None) as services:
        yield services


@pytest.mark.parametrize("service", ["phone-gateway", "user-management", "profile-analytics"])
def test_no_server_errors_for_generated_requests(unsigned_live: LiveServices, service: str) -> None:
    _, token = unsigned_live.register("schema@example.com", "+8610012345678")
    credentials: list[dict[str, str]] = [
        {},
        {"Authorization": f"Bearer {token}"},
        operator_headers(),
        *(service_headers(caller, service) for caller in SERVICES if caller != service),
    ]
    base_url = unsigned_live.url(service)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED_PATHS:
            continue
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # report failures as found: shrinking can take minutes
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), headers=st.sampled_from(credentials))
        def exercise(case: schemathesis.Case, headers: dict[str, str]) -> None:
            # Logging out would revoke the token every later example relies on; it is tested on its own.
            if case.path.endswith("/logout"):
                headers = {}
            response = case.call(base_url=base_url, headers=headers, timeout=10)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")
            assert response.status_code < 500, failures[-1]

        exercise()
    assert operations >= 4, f"{service} documents too few operations"
    print(service, operations, len(calls), sorted(set(calls)))
    assert not failures
