"""Replay windows through the real route: a message signed correctly but a day ago (as a captured callback
replayed later arrives) is refused with 401, counted as `stale-timestamp`, and never answered, on every
platform whose signature covers a timestamp."""

from __future__ import annotations

from typing import Any

import pytest

from integration.webhooks.drivers.base import Sent, answer
from integration.webhooks.harness import Parley, deliver, eventually

TIMESTAMPED = ["feishu", "dingtalk", "wecom", "wechat-mp", "wechat-mp-safe", "qq", "slack", "discord"]


@pytest.mark.parametrize("driver", TIMESTAMPED, indirect=True)
async def test_stale_signed_message_is_refused_counted_never_answered(parley: Parley, driver: Any) -> None:
    stale = await deliver(parley, driver.stale(1), platform=driver.platform, binding=driver.binding.name)
    assert stale.status_code == 401, stale.content
    labels = {"platform": driver.platform, "reason": "stale-timestamp"}
    assert await parley.counter("parley_webhook_rejected_total", **labels) == 1
    # The engine answers in order: once message 2 is answered, anything message 1 caused is recorded too.
    fresh = await deliver(parley, driver.valid(2), platform=driver.platform, binding=driver.binding.name)
    assert driver.ack_ok(fresh.status_code, fresh.content)
    assert await eventually(lambda: driver.sent() or None) == [Sent(answer(2), driver.address(2))]
    assert await parley.counter("parley_messages_total", platform=driver.platform) == 1
