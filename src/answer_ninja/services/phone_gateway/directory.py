"""Where phone-gateway learns who owns a number, who is whitelisted and what a caller is: the cache first,
then user-management and profile-analytics, then a stale cached copy. It never raises for an outage.

Cached documents (see ``cache_keys``):
* user snapshot  ``{"at": epoch seconds, "snapshot": RoutingSnapshot | null}``; fresh for ROUTING_CACHE_SECONDS,
  kept a week as the fallback for when user-management is unreachable; user-management deletes it on every change.
* caller profile ``{"risk_score", "confidence", "category"}`` or ``{"none": true}``; profile-analytics writes it
  through on every change and keeps every profile in Redis (PROFILES_COMPLETE_KEY says when the copy is whole):
  then a missing key means an unknown caller, with no question to profile-analytics.

On top, each gateway process keeps the parsed documents in memory for LOCAL_TTL_SECONDS, dropped at once when
an owner announces a change over Redis pub/sub (``invalidation``): the hot path then touches no network at all.
With the in-process cache (no REDIS_URL) the services cannot invalidate each other's memory, so entries are
trusted for a few seconds only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from answer_ninja.calls.routing import AiOffAction, CallerProfile, KnownSpamAction, UserRouting
from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.phone_gateway.cache_keys import PROFILES_COMPLETE_KEY, routing_profile_key, routing_user_key

log = get_logger(__name__)

# A stale snapshot is still better than no snapshot while user-management is down; a week bounds the memory.
STALE_KEEP_SECONDS = 7 * 24 * 3600
# Without Redis, other services cannot invalidate our cache: trust an entry only this long.
MEMORY_CACHE_FRESH_SECONDS = 3.0
# The in-process copy's lifetime: changes arrive by pub/sub at once, and a reconnect drops everything, so this
# only bounds the rare race of a fetch that started before a change and finished after its announcement.
LOCAL_TTL_SECONDS = 60.0
# How long "the profiles in Redis are complete" is believed before asking Redis again (it goes with a restart).
PROFILES_COMPLETE_CHECK_SECONDS = 5.0
# Bound on the in-process copy (hosted numbers + callers): a few MB at most.
LOCAL_MAX_ENTRIES = 50_000


@dataclass
class Lookup:
    """The facts routing needs about one call, and where they came from."""

    user: UserRouting | None = None
    whitelist: dict[str, datetime | None] = field(default_factory=dict)
    profile: CallerProfile | None = None
    user_known: bool = True  # false: no fresh answer and no cached copy (user-management unreachable)
    sources: dict[str, str] = field(default_factory=dict)  # user/profile -> cache | service | stale | none
    whitelist_ms: float = 0.0


UserEntry = tuple[UserRouting, dict[str, datetime | None]]


def _user_from(snapshot: dict[str, Any] | None) -> UserEntry | None:
    if snapshot is None:
        return None
    user = snapshot["user"]
    routing = UserRouting(
        user_id=user["user_id"],
        real_number=user["real_number"],
        ai_enabled=bool(user["ai_enabled"]),
        ai_off_action=AiOffAction(user["ai_off_action"]),
        spam_threshold=float(user["spam_threshold"]),
        known_spam_action=KnownSpamAction(user["known_spam_action"]),
        persona=user["persona"],
        language=user["language"],
        max_call_seconds=int(user["max_call_seconds"]),
    )
    whitelist = {
        number: (datetime.fromisoformat(expires) if expires else None)
        for number, expires in snapshot["whitelist"].items()
    }
    return routing, whitelist


class LocalCopy:
    """Parsed routing documents in this process, each for at most ``ttl`` seconds."""

    def __init__(self, ttl: float, max_entries: int = LOCAL_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        item = self._entries.get(key)
        if item is None or item[0] <= time.monotonic():
            return False, None
        return True, item[1]

    def put(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare, and cheaper than an LRU's bookkeeping on every hit
        self._entries[key] = (time.monotonic() + (ttl if ttl is not None else self.ttl), value)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def drop_all(self) -> None:
        self._entries.clear()


class RoutingDirectory:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        cache = ctx.require_cache()
        configured = ctx.settings.routing_cache_seconds
        self.fresh_seconds = configured if cache.kind == "redis" else min(configured, MEMORY_CACHE_FRESH_SECONDS)
        self.local = LocalCopy(min(LOCAL_TTL_SECONDS, self.fresh_seconds))

    async def _cache_get(self, key: str) -> Any | None:
        try:
            return await self.ctx.require_cache().get_json(key)
        except Exception as error:  # Redis down: go to the services instead
            log.warning("routing_cache_unavailable", error=type(error).__name__)
            return None

    async def _cache_set(self, key: str, value: Any, ttl: float) -> None:
        try:
            await self.ctx.require_cache().set_json(key, value, ttl_seconds=ttl)
        except Exception as error:
            log.warning("routing_cache_unavailable", error=type(error).__name__)

    async def user_routing(self, dialled: str) -> tuple[UserEntry | None, str]:
        """(the owner's routing data, or None when nobody hosts the number; source). Source "unavailable" means
        we do not know: no fresh answer, no cached copy."""
        key = routing_user_key(dialled)
        hit, parsed = self.local.get(key)
        if hit:
            return parsed, "local"
        cached = await self._cache_get(key)
        if isinstance(cached, dict) and time.time() - float(cached.get("at", 0)) < self.fresh_seconds:
            entry = _user_from(cached.get("snapshot"))
            self.local.put(key, entry)
            return entry, "cache"
        response = await self._ask(
            f"{self.ctx.settings.user_management_url}/internal/v1/routing/{quote(dialled, safe='')}"
        )
        if response is None:
            if isinstance(cached, dict):
                return _user_from(cached.get("snapshot")), "stale"
            return None, "unavailable"
        snapshot = response.json() if response.status_code == 200 else None
        await self._cache_set(key, {"at": time.time(), "snapshot": snapshot}, STALE_KEEP_SECONDS)
        entry = _user_from(snapshot)
        self.local.put(key, entry)
        return entry, "service"

    async def caller_profile(self, caller_hash: str) -> tuple[CallerProfile | None, str]:
        key = routing_profile_key(caller_hash)
        hit, parsed = self.local.get(key)
        if hit:
            return parsed, "local"
        cached = await self._cache_get(key)
        if isinstance(cached, dict) and (cached.get("at") is None or time.time() - cached["at"] < self.fresh_seconds):
            self.local.put(key, self._profile(cached))
            return self._profile(cached), "cache"
        if cached is None and await self._profiles_complete():
            self.local.put(key, None)  # the copy in Redis is complete: no key, no profile
            return None, "cache"
        response = await self._ask(f"{self.ctx.settings.profile_analytics_url}/internal/v1/profiles/{caller_hash}")
        if response is None:
            return (self._profile(cached) if isinstance(cached, dict) else None), "unavailable"
        body = response.json() if response.status_code == 200 else None
        document: dict[str, Any] = (
            {"risk_score": body["risk_score"], "confidence": body["confidence"], "category": body["category"]}
            if body
            else {"none": True}
        )
        # Unknown callers are remembered only briefly: profile-analytics writes new profiles through anyway.
        document["at"] = time.time()
        await self._cache_set(key, document, STALE_KEEP_SECONDS)
        self.local.put(key, self._profile(document))
        return self._profile(document), "service"

    async def _ask(self, url: str) -> httpx.Response | None:
        """GET from the service that owns the data: its answer (200 or 404), or None when it cannot answer."""
        try:
            response = await self.ctx.require_http().get(url)
            if response.status_code not in (200, 404):
                response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("routing_source_unreachable", url=url.split("/internal/")[0], error=type(error).__name__)
            return None
        return response

    async def _profiles_complete(self) -> bool:
        """Whether profile-analytics has put every profile in Redis (checked at most every few seconds)."""
        hit, complete = self.local.get(PROFILES_COMPLETE_KEY)
        if hit:
            return bool(complete)
        complete = await self._cache_get(PROFILES_COMPLETE_KEY) is not None
        self.local.put(PROFILES_COMPLETE_KEY, complete, ttl=PROFILES_COMPLETE_CHECK_SECONDS)
        return complete

    @staticmethod
    def _profile(document: dict[str, Any]) -> CallerProfile | None:
        if document.get("none"):
            return None
        return CallerProfile(
            risk_score=float(document["risk_score"]),
            confidence=float(document["confidence"]),
            category=str(document["category"]),
        )

    async def lookup(self, *, dialled: str, caller_hash: str | None) -> Lookup:
        result = Lookup()
        started = time.perf_counter()
        entry, result.sources["user"] = await self.user_routing(dialled)
        if entry is not None:
            result.user, result.whitelist = entry
        result.whitelist_ms = (time.perf_counter() - started) * 1000
        result.user_known = result.sources["user"] != "unavailable"
        if result.user is not None and caller_hash is not None:
            result.profile, result.sources["profile"] = await self.caller_profile(caller_hash)
        return result
