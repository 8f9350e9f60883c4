"""Gray release for platform traffic: no `X-Parley-Track` header exists on a platform callback, so the
gateway picks the track from the route file the operator writes (canaryWeight) and the user hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from integration.webhooks.drivers import http, telegram
from integration.webhooks.drivers.base import answer
from integration.webhooks.harness import Parley, deliver, eventually, running_parley


def route_file(tmp_path: Path, weight: float) -> Path:
    path = tmp_path / "routes.json"
    path.write_text(json.dumps({"canaryWeight": weight, "stableVersion": "1.4.0", "canaryVersion": "1.5.0"}))
    return path


async def test_full_canary_weight_sends_webhook_traffic_to_the_canary_track(tmp_path: Path) -> None:
    with http.driver() as drv:
        async with running_parley(tmp_path, [drv.binding], route_file=route_file(tmp_path, 100)) as app:
            assert drv.ack_ok(*await _post(app, drv, 1))
            (sent,) = await eventually(drv.sent)
            assert await app.counter("parley_messages_total", platform="http", track="canary") == 1
            assert await app.counter("parley_messages_total", track="stable") == 0
    assert (sent.text, sent.to["track"]) == (answer(1), "canary")


async def test_zero_weight_keeps_everyone_on_stable(tmp_path: Path) -> None:
    with telegram.driver() as drv:
        async with running_parley(tmp_path, [drv.binding], route_file=route_file(tmp_path, 0)) as app:
            assert drv.ack_ok(*await _post(app, drv, 1))
            await eventually(drv.sent)
            assert await app.counter("parley_messages_total", platform="telegram", track="stable") == 1
            assert await app.counter("parley_messages_total", track="canary") == 0


async def test_partial_weight_follows_the_user_hash(tmp_path: Path) -> None:
    user = str(telegram.CHAT)  # the private chat's sender
    weight = 50.0
    bucket = int.from_bytes(hashlib.sha256(f"helpdesk:telegram:{user}".encode()).digest()[:8], "big") % 10000
    expected = "canary" if bucket < weight * 100 else "stable"  # SPEC §11, computed independently
    with telegram.driver() as drv:
        async with running_parley(tmp_path, [drv.binding], route_file=route_file(tmp_path, weight)) as app:
            for n in (1, 2):
                assert drv.ack_ok(*await _post(app, drv, n))
            await eventually(lambda: len(drv.sent()) >= 2)
            assert await app.counter("parley_messages_total", platform="telegram", track=expected) == 2


async def _post(app: Parley, drv: http.HttpDriver | telegram.TelegramDriver, n: int) -> tuple[int, bytes]:
    response = await deliver(app, drv.valid(n), platform=drv.platform, binding=drv.binding.name)
    return response.status_code, response.content
