"""Cache keys phone-gateway reads and the services that own the data invalidate (one definition for all)."""

from __future__ import annotations

# Bump when the cached document's shape changes, so old entries are ignored rather than misread.
# 2: the user snapshot carries a version and no whitelist; whitelist answers are per (number, caller) pair;
#    users' own verdicts on callers.
SCHEMA_VERSION = 2


def routing_user_key(hosted_number: str) -> str:
    """The routing settings (preferences, real number, routing version) of the user holding ``hosted_number``."""
    return f"routing:v{SCHEMA_VERSION}:user:{hosted_number}"


def routing_pair_key(hosted_number: str, caller: str) -> str:
    """Whether ``caller`` is on the whitelist of the user holding ``hosted_number``, at a routing version."""
    return f"routing:v{SCHEMA_VERSION}:pair:{hosted_number}:{caller}"


def routing_profile_key(caller_hash: str) -> str:
    """The spam profile of a caller, written through by profile-analytics on every change."""
    return f"routing:v{SCHEMA_VERSION}:profile:{caller_hash}"


def routing_verdict_key(user_id: str, caller_hash: str) -> str:
    """A user's own latest report on a caller ("spam" / "not_spam"), written through by profile-analytics."""
    return f"routing:v{SCHEMA_VERSION}:verdict:{user_id}:{caller_hash}"


# Redis pub/sub channel on which the owners of routing data announce changed keys, so every gateway process drops
# its in-process copy at once instead of waiting for it to age out.
INVALIDATION_CHANNEL = f"routing:v{SCHEMA_VERSION}:invalidations"

# Set by profile-analytics once every profile and every user's verdict is in Redis (it then keeps them there,
# without expiry): from then on a missing profile or verdict key means "none", and phone-gateway need not ask
# profile-analytics about new callers. Gone after a Redis restart, until profile-analytics has copied them again.
PROFILES_COMPLETE_KEY = f"routing:v{SCHEMA_VERSION}:profiles-complete"
