"""Answers and start-up checks every webhook adapter gives the same way, so callers and dashboards see one
shape: errors are `{"error": "..."}` JSON, and a refusal for a security reason carries that reason (it
becomes the `reason` label of the rejected-webhook metric)."""

import json
from collections.abc import Iterable, Mapping

from parley_runtime.core.protocols import WebhookResult

__all__ = ["bad_signature", "error", "require_credentials"]


def error(status: int, message: str, reason: str = "") -> WebhookResult:
    """A JSON error answer; `reason` marks it a rejection (bad signature, stale timestamp…)."""
    body = json.dumps({"error": message}).encode()
    return WebhookResult(status=status, body=body, rejected=bool(reason), reason=reason)


def bad_signature() -> WebhookResult:
    return error(401, "signature mismatch", "bad-signature")


def require_credentials(
    credentials: Mapping[str, str], names: Iterable[str], *, platform: str, binding: str
) -> None:
    """Refuse to build an adapter whose binding lacks a credential, naming the missing keys (not values)."""
    missing = [name for name in names if not credentials.get(name)]
    if missing:
        raise ValueError(f"{platform} binding {binding}: credentials missing {', '.join(missing)}")
