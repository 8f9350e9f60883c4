"""URL checks answered through the real route exactly as each platform expects them (GET for WeCom and
WeChat, signed POSTs for Feishu, QQ, Slack and Discord), without reaching the model or the platform."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integration.webhooks.drivers.catalog import WITH_HANDSHAKE
from integration.webhooks.harness import Parley, deliver


@pytest.mark.parametrize("driver", WITH_HANDSHAKE, indirect=True)
async def test_handshake_is_answered_exactly(parley: Parley, driver: Any) -> None:
    request, expected = driver.handshake()
    response = await deliver(parley, request, platform=driver.platform, binding=driver.binding.name)
    assert response.status_code == 200, response.content
    if isinstance(expected, bytes):  # WeCom / WeChat compare the plain body byte for byte
        assert response.content == expected
        assert response.headers["content-type"].startswith("text/plain")
    else:
        assert json.loads(response.content) == expected
        assert response.headers["content-type"].startswith("application/json")
    assert await parley.counter("parley_messages_total") == 0
    assert await parley.counter("parley_webhook_rejected_total") == 0
    assert driver.sent() == []


@pytest.mark.parametrize("driver", ["wecom", "wechat-mp"], indirect=True)
async def test_get_handshake_with_a_wrong_signature_is_refused(parley: Parley, driver: Any) -> None:
    request, expected = driver.handshake()
    key = "msg_signature" if "msg_signature" in request.query else "signature"
    forged = request.model_copy(update={"query": {**request.query, key: "0" * 40}})
    response = await deliver(parley, forged, platform=driver.platform, binding=driver.binding.name)
    assert response.status_code == 401 and expected not in response.content
    assert await parley.counter("parley_webhook_rejected_total", platform=driver.platform) == 1
