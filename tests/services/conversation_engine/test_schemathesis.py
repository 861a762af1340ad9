"""Property-based requests from conversation-engine's own OpenAPI schema (schemathesis, in process): never a 5xx,
with and without the voice loop's service token (the only caller its routes admit)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from answer_ninja.services.conversation_engine.app import create_app
from tests.harness.credentials import operator_headers, service_headers
from tests.services.conversation_engine.conftest import engine_settings

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 25
SKIPPED_PATHS = ("/health", "/ready", "/metrics")


def test_no_server_errors_for_generated_requests() -> None:
    app = create_app(engine_settings())
    credentials = [{}, operator_headers(), service_headers("realtime-processor", "conversation-engine"),
                   service_headers("phone-gateway", "conversation-engine")]  # fmt: skip
    calls: list[int] = []
    failures: list[str] = []
    with TestClient(app):  # runs the lifespan (the intent model is trained at start-up)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            if operation.path in SKIPPED_PATHS:
                continue

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(), headers=st.sampled_from(credentials))
            def exercise(case: schemathesis.Case, headers: dict[str, str]) -> None:
                response = case.call(headers=headers)
                calls.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
                assert response.status_code < 500, failures[-1]

            exercise()
    assert len(operations) >= 5
    assert not failures
    assert 401 in calls, "requests without a credential must be refused"
