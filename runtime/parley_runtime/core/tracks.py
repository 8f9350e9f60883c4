"""Gray-release bucketing (docs/concepts.md, "Gray release"): a pure function of bot, platform and user."""

import hashlib

from parley_runtime.core.messages import Track

BUCKETS = 10_000


def bucket(bot: str, platform: str, user_id: str) -> int:
    digest = hashlib.sha256(f"{bot}:{platform}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def track_for(bot: str, platform: str, user_id: str, weight: float) -> Track:
    """`canary` when the user's bucket falls under weight% of the buckets.

    The canary set for a weight contains the set for every smaller weight, so
    raising the weight only adds users.
    """
    if weight <= 0:
        return "stable"
    if weight >= 100:
        return "canary"
    return "canary" if bucket(bot, platform, user_id) < weight * 100 else "stable"
