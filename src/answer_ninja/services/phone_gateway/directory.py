"""Where phone-gateway learns who owns a number, whether the caller is on their whitelist, what the caller is and
what the owner said about them: the cache first, then user-management and profile-analytics, then a stale cached
copy. It never raises for an outage.

What is asked, and why per pair: a routing decision needs the owner's settings and ONE fact about their
whitelist (is this caller on it?), never the whole list. Issue 10 measured the old design, a snapshot of the whole
whitelist refetched when it aged (every 3 s without Redis): with 30,000 entries it was 660 KB to build, send and
parse, and every decision for that user took 1.2-1.4 s. Now:

* user document  ``{"at", "snapshot": {"user", "version", "whitelist"?} | null}``: the owner's settings and
  their *routing version*, which user-management bumps on every change (settings, numbers, whitelist), and, when
  the list is short (up to 1,000 active entries, ~22 KB), the whole list: most users' callers are then answered
  from memory with no further question, as before, and still while user-management is unreachable. Fresh for
  ROUTING_CACHE_SECONDS, kept a week as the fallback while user-management is unreachable; user-management
  deletes it on every change and announces it.
* pair document  ``{"at", "version", "expires_at", "listed"}``, for long lists only: the answer for one (hosted
  number, caller), made by one indexed lookup (``GET .../routing/{number}?caller=``, which also returns the
  settings, so a first call costs one request). It holds while its version is the user's current one: a change to
  the user makes every pair answer stale at once, without anyone enumerating or deleting them, and each is refetched
  (one row) when its caller next calls.
* caller profile ``{"risk_score", "confidence", "category"}`` or ``{"none": true}``, and the owner's own verdict
  on the caller ``{"verdict": "spam"|"not_spam"|null}``: profile-analytics writes both through on every change and
  keeps all of them in Redis (PROFILES_COMPLETE_KEY says when the copy is whole): then a missing key means
  "none", with no question to profile-analytics. Otherwise ``GET .../profiles/{hash}?user_id=`` answers both.

A versioned delta of the whole list was the other candidate; it keeps 30,000 entries in every gateway process and
needs a change log with tombstones, for no gain over one indexed row per caller that the cache keeps.

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

from answer_ninja.calls.routing import AiOffAction, CallerProfile, KnownSpamAction, UserRouting, Verdict
from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.phone_gateway.cache_keys import (
    PROFILES_COMPLETE_KEY,
    routing_pair_key,
    routing_profile_key,
    routing_user_key,
    routing_verdict_key,
)

log = get_logger(__name__)

# A stale answer is still better than none while user-management is down; a week bounds the memory.
STALE_KEEP_SECONDS = 7 * 24 * 3600
# Pair answers are many (one per caller and number): "not listed" ones are kept a day, so they do not pile up;
# "listed" ones a week, like the user document, so whitelisted callers still get through during an outage.
PAIR_KEEP_SECONDS = 24 * 3600
# After a source failed to answer, it is not asked again for this long: calls during an outage are decided from
# what is cached at once, instead of each waiting for the timeout (most new callers have no cached pair answer).
SOURCE_RETRY_SECONDS = 5.0
# Without Redis, other services cannot invalidate our cache: trust an entry only this long.
MEMORY_CACHE_FRESH_SECONDS = 3.0
# The in-process copy's lifetime: changes arrive by pub/sub at once, and a reconnect drops everything, so this
# only bounds the rare race of a fetch that started before a change and finished after its announcement.
LOCAL_TTL_SECONDS = 60.0
# How long "the profiles in Redis are complete" is believed before asking Redis again (it goes with a restart).
PROFILES_COMPLETE_CHECK_SECONDS = 5.0
# Bound on the in-process copy (hosted numbers, pairs, callers, verdicts): a few MB at most.
LOCAL_MAX_ENTRIES = 50_000


@dataclass
class Lookup:
    """The facts routing needs about one call, and where they came from."""

    user: UserRouting | None = None
    # The caller's whitelist entry (caller -> expiry or None), or empty: the only part of the list a call needs.
    whitelist: dict[str, datetime | None] = field(default_factory=dict)
    profile: CallerProfile | None = None
    own_verdict: Verdict | None = None
    user_known: bool = True  # false: no fresh answer and no cached copy (user-management unreachable)
    # user/whitelist/profile -> local | cache | service | stale | unavailable | none
    sources: dict[str, str] = field(default_factory=dict)
    whitelist_ms: float = 0.0


@dataclass(frozen=True)
class UserEntry:
    routing: UserRouting | None  # None: nobody holds the number proven
    version: int
    # The whole active whitelist when it is short enough to travel with the settings; None: ask per caller.
    whitelist: dict[str, datetime | None] | None = None


@dataclass(frozen=True)
class PairEntry:
    version: int
    listed: bool
    expires_at: datetime | None


def _routing_from(user: dict[str, Any]) -> UserRouting:
    return UserRouting(
        user_id=user["user_id"],
        real_number=user["real_number"],
        ai_enabled=bool(user["ai_enabled"]),
        ai_off_action=AiOffAction(user["ai_off_action"]),
        spam_threshold=float(user["spam_threshold"]),
        known_spam_action=KnownSpamAction(user["known_spam_action"]),
        persona=user["persona"],
        language=user["language"],
        max_call_seconds=int(user["max_call_seconds"]),
        fallback=str(user.get("fallback") or "ring"),
    )


def _user_entry(snapshot: dict[str, Any] | None) -> UserEntry:
    if snapshot is None:
        return UserEntry(None, -1)
    whole = snapshot.get("whitelist")
    whitelist = (
        {number: (datetime.fromisoformat(expires) if expires else None) for number, expires in whole.items()}
        if isinstance(whole, dict)
        else None
    )
    return UserEntry(_routing_from(snapshot["user"]), int(snapshot.get("version", 0)), whitelist)


def _pair_entry(document: dict[str, Any]) -> PairEntry:
    expires = document.get("expires_at")
    return PairEntry(
        int(document.get("version", -1)),
        bool(document.get("listed")),
        datetime.fromisoformat(expires) if expires else None,
    )


def _pair_document(snapshot: dict[str, Any], caller: str) -> dict[str, Any]:
    """The pair answer inside a user-management routing answer for ``caller``."""
    whitelist = snapshot.get("whitelist") or {}
    return {
        "at": time.time(),
        "version": int(snapshot.get("version", 0)),
        "listed": caller in whitelist,
        "expires_at": whitelist.get(caller),
    }


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
        self._source_down_until: dict[str, float] = {}

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

    def _fresh(self, document: Any) -> bool:
        return isinstance(document, dict) and time.time() - float(document.get("at", 0)) < self.fresh_seconds

    # --- the owner and the caller's whitelist entry ---------------------------------------------------------

    async def _ask_user_management(self, dialled: str, caller: str | None) -> httpx.Response | None:
        url = f"{self.ctx.settings.user_management_url}/internal/v1/routing/{quote(dialled, safe='')}"
        return await self._ask(url, params={"caller": caller} if caller else None)

    async def _store_answer(self, dialled: str, caller: str | None, response: httpx.Response) -> UserEntry:
        """Cache user-management's answer: the user document, and the pair answer when a caller was asked."""
        snapshot = response.json() if response.status_code == 200 else None
        user_key = routing_user_key(dialled)
        kept = {"user": snapshot["user"], "version": snapshot["version"]} if snapshot else None
        if snapshot is not None and kept is not None and snapshot.get("whitelist_complete"):
            kept["whitelist"] = snapshot["whitelist"]  # short: every caller is answered from it
        await self._cache_set(user_key, {"at": time.time(), "snapshot": kept}, STALE_KEEP_SECONDS)
        entry = _user_entry(kept)
        self.local.put(user_key, entry)
        if snapshot is not None and caller is not None and not snapshot.get("whitelist_complete"):
            pair_key = routing_pair_key(dialled, caller)
            pair_doc = _pair_document(snapshot, caller)
            await self._cache_set(pair_key, pair_doc, STALE_KEEP_SECONDS if pair_doc["listed"] else PAIR_KEEP_SECONDS)
            self.local.put(pair_key, _pair_entry(pair_doc))
        return entry

    async def user_routing(self, dialled: str, caller: str | None = None) -> tuple[UserEntry | None, str]:
        """(the owner's routing entry, source); the entry's ``routing`` is None when nobody holds the number.
        Source "unavailable" (entry None) means we do not know: no fresh answer, no cached copy."""
        key = routing_user_key(dialled)
        hit, parsed = self.local.get(key)
        if hit:
            return parsed, "local"
        cached = await self._cache_get(key)
        if isinstance(cached, dict) and self._fresh(cached):
            entry = _user_entry(cached.get("snapshot"))
            self.local.put(key, entry)
            return entry, "cache"
        response = await self._ask_user_management(dialled, caller)
        if response is None:
            if isinstance(cached, dict):
                return _user_entry(cached.get("snapshot")), "stale"
            return None, "unavailable"
        return await self._store_answer(dialled, caller, response), "service"

    async def whitelist_entry(self, dialled: str, caller: str, user: UserEntry) -> tuple[PairEntry, str]:
        """Whether ``caller`` is on the list of ``user`` (the holder of ``dialled``), at the user's version."""
        key = routing_pair_key(dialled, caller)
        hit, parsed = self.local.get(key)
        if hit and parsed.version == user.version:
            return parsed, "local"
        cached = await self._cache_get(key)
        if isinstance(cached, dict) and int(cached.get("version", -1)) == user.version:
            entry = _pair_entry(cached)
            self.local.put(key, entry)
            return entry, "cache"
        response = await self._ask_user_management(dialled, caller)
        if response is None:
            if isinstance(cached, dict):
                return _pair_entry(cached), "stale"
            return PairEntry(user.version, False, None), "unavailable"
        await self._store_answer(dialled, caller, response)
        hit, parsed = self.local.get(key)
        return (parsed if hit else PairEntry(user.version, False, None)), "service"

    # --- the caller's shared profile and the owner's own verdict ---------------------------------------------

    async def caller_profile(
        self, caller_hash: str, user_id: str | None = None
    ) -> tuple[CallerProfile | None, Verdict | None, str]:
        """(shared profile, the user's own verdict, source)."""
        profile_key = routing_profile_key(caller_hash)
        verdict_key = routing_verdict_key(user_id, caller_hash) if user_id else None
        hit_p, profile = self.local.get(profile_key)
        hit_v, verdict = self.local.get(verdict_key) if verdict_key else (True, None)
        if hit_p and hit_v:
            return profile, verdict, "local"
        profile_doc = None if hit_p else await self._cache_get(profile_key)
        verdict_doc = None if hit_v or verdict_key is None else await self._cache_get(verdict_key)
        complete = await self._profiles_complete()
        profile_known = hit_p or _usable(profile_doc, self.fresh_seconds) or (profile_doc is None and complete)
        verdict_known = hit_v or _usable(verdict_doc, self.fresh_seconds) or (verdict_doc is None and complete)
        if profile_known and verdict_known:
            if not hit_p:
                profile = self._profile(profile_doc) if isinstance(profile_doc, dict) else None
                self.local.put(profile_key, profile)
            if not hit_v and verdict_key is not None:
                verdict = _verdict(verdict_doc)
                self.local.put(verdict_key, verdict)
            return profile, verdict, "cache"
        url = f"{self.ctx.settings.profile_analytics_url}/internal/v1/profiles/{caller_hash}"
        response = await self._ask(url, params={"user_id": user_id} if user_id else None)
        if response is None:
            stale_profile = (
                self._profile(profile_doc) if isinstance(profile_doc, dict) else (profile if hit_p else None)
            )
            return stale_profile, (verdict if hit_v else _verdict(verdict_doc)), "unavailable"
        body = response.json() if response.status_code == 200 else None
        document: dict[str, Any] = (
            {"risk_score": body["risk_score"], "confidence": body["confidence"], "category": body["category"]}
            if body
            else {"none": True}
        )
        # Remembered with their time: profile-analytics writes changes through anyway.
        document["at"] = time.time()
        await self._cache_set(profile_key, document, STALE_KEEP_SECONDS)
        profile = self._profile(document)
        self.local.put(profile_key, profile)
        if verdict_key is not None:
            verdict_doc = {"verdict": (body or {}).get("own_verdict"), "at": time.time()}
            await self._cache_set(verdict_key, verdict_doc, PAIR_KEEP_SECONDS)
            verdict = _verdict(verdict_doc)
            self.local.put(verdict_key, verdict)
        return profile, verdict, "service"

    async def _ask(self, url: str, params: dict[str, str] | None = None) -> httpx.Response | None:
        """GET from the service that owns the data: its answer (200 or 404), or None when it cannot answer (or
        failed within the last SOURCE_RETRY_SECONDS)."""
        source = url.split("/internal/")[0]
        if self._source_down_until.get(source, 0.0) > time.monotonic():
            return None
        try:
            response = await self.ctx.require_http().get(url, params=params)
            if response.status_code not in (200, 404):
                response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("routing_source_unreachable", url=source, error=type(error).__name__)
            self._source_down_until[source] = time.monotonic() + SOURCE_RETRY_SECONDS
            return None
        self._source_down_until.pop(source, None)
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

    async def lookup(self, *, dialled: str, caller_hash: str | None, caller: str = "") -> Lookup:
        result = Lookup()
        started = time.perf_counter()
        entry, result.sources["user"] = await self.user_routing(dialled, caller if caller.startswith("+") else None)
        result.user_known = entry is not None
        if entry is not None and entry.routing is not None:
            result.user = entry.routing
            if entry.whitelist is not None:  # a short list, whole in memory
                if caller in entry.whitelist:
                    result.whitelist = {caller: entry.whitelist[caller]}
                result.sources["whitelist"] = result.sources["user"]
            elif caller.startswith("+"):
                pair, source = await self.whitelist_entry(dialled, caller, entry)
                # A pair answer that came with the user's (one request) is from the service, not from memory.
                result.sources["whitelist"] = "service" if result.sources["user"] == "service" else source
                if pair.listed:
                    result.whitelist = {caller: pair.expires_at}
        result.whitelist_ms = (time.perf_counter() - started) * 1000
        if result.user is not None and caller_hash is not None:
            result.profile, result.own_verdict, result.sources["profile"] = await self.caller_profile(
                caller_hash, result.user.user_id
            )
        return result


def _usable(document: Any, fresh_seconds: float) -> bool:
    """A written-through document (no "at": kept current by its owner) or one fetched recently."""
    return isinstance(document, dict) and (
        document.get("at") is None or time.time() - float(document["at"]) < fresh_seconds
    )


def _verdict(document: Any) -> Verdict | None:
    if not isinstance(document, dict) or document.get("verdict") not in ("spam", "not_spam"):
        return None
    return Verdict(document["verdict"])
