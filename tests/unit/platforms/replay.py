"""The one outcome every platform's replay-window test expects (see platforms/common/webhook.py)."""

from parley_runtime.core.protocols import WebhookResult


def expect_window(result: WebhookResult, accepted: bool) -> None:
    """Inside the window: the event goes through; outside: 401 `stale-timestamp`, nothing processed."""
    if accepted:
        assert (result.status, result.rejected, len(result.events)) == (200, False, 1)
    else:
        assert (result.status, result.rejected, result.reason, result.events) == (
            401,
            True,
            "stale-timestamp",
            (),
        )
