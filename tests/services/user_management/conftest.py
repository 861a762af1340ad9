"""Fixtures of this area's integration tests (defined once, in tests/services/phone_gateway/live.py)."""

from tests.services.phone_gateway.live import live

__all__ = ["live"]
