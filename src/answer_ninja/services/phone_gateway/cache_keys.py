"""Cache keys phone-gateway reads and the services that own the data invalidate (one definition for all)."""

from __future__ import annotations

# Bump when the cached document's shape changes, so old entries are ignored rather than misread.
SCHEMA_VERSION = 1


def routing_user_key(hosted_number: str) -> str:
    """The routing snapshot (user preferences + whitelist) of the user owning ``hosted_number``."""
    return f"routing:v{SCHEMA_VERSION}:user:{hosted_number}"


def routing_profile_key(caller_hash: str) -> str:
    """The spam profile of a caller, written through by profile-analytics on every change."""
    return f"routing:v{SCHEMA_VERSION}:profile:{caller_hash}"


# Redis pub/sub channel on which the owners of routing data announce changed keys, so every gateway process drops
# its in-process copy at once instead of waiting for it to age out.
INVALIDATION_CHANNEL = f"routing:v{SCHEMA_VERSION}:invalidations"

# Set by profile-analytics once every profile is in Redis (it then keeps them there, without expiry): from then
# on a missing profile key means "no profile", and phone-gateway need not ask profile-analytics about new callers.
# Gone after a Redis restart, until profile-analytics has copied the profiles again.
PROFILES_COMPLETE_KEY = f"routing:v{SCHEMA_VERSION}:profiles-complete"
