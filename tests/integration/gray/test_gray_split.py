"""The hash split end to end: gateway + stable and canary engines + Redis, the weight from the route file.

The expected track of a user is computed here from SPEC §11 directly (sha256, first 8 bytes, mod
10,000), not through Parley's code, so the test checks the contract rather than the implementation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from typing import Any

import aiohttp
import httpx

from fakes.http_api import Recorded
from integration.gray.conftest import BINDING, BOT, CANARY_REPLY, STABLE_REPLY, GrayCluster, write_routes
from integration.split.harness import eventually, run_cli

USERS = [f"user-{n:05d}" for n in range(2000)]
REPLY_OF = {"stable": STABLE_REPLY, "canary": CANARY_REPLY}


def expected_track(platform: str, user: str, weight: float) -> str:
    digest = hashlib.sha256(f"{BOT}:{platform}:{user}".encode()).digest()
    return "canary" if int.from_bytes(digest[:8], "big") % 10000 < weight * 100 else "stable"


async def chat_all(url: str, users: list[str], text: str) -> dict[str, dict[str, Any]]:
    """One chat message per user, a few dozen at a time; user → the gateway's JSON answer. (aiohttp:
    thousands of calls, at a quarter of httpx's CPU per call.)"""
    gate = asyncio.Semaphore(24)
    connector = aiohttp.TCPConnector(limit=24)
    async with aiohttp.ClientSession(url, connector=connector, timeout=aiohttp.ClientTimeout(30)) as http:

        async def one(user: str) -> tuple[str, dict[str, Any]]:
            body = {"message": f"{text} from {user}", "user_id": user}
            async with gate, http.post("/api/v1/chat", json=body) as r:
                text_of = await r.text()
                assert r.status == 200, text_of
                return user, json.loads(text_of)

        return dict(await asyncio.gather(*(one(u) for u in users)))


async def test_at_weight_20_about_a_fifth_of_users_get_the_canary_and_stay_there(gray: GrayCluster) -> None:
    first = await chat_all(gray.gateway.url, USERS, "hello")
    second = await chat_all(gray.gateway.url, USERS, "hello again")

    for user in USERS:
        a, b = first[user], second[user]
        # The reply itself says which engine (which fake model) answered: the track is real, not a label.
        assert a["reply"] == REPLY_OF[a["track"]] and b["reply"] == REPLY_OF[b["track"]], user
        assert a["track"] == b["track"], f"{user} moved between tracks at a fixed weight"
        assert a["track"] == expected_track("api", user, 20), user
    share = Counter(a["track"] for a in first.values())["canary"] / len(USERS)
    assert 0.17 <= share <= 0.23, share  # 2,000 users: ±3 points is over three standard deviations


async def test_changing_the_route_file_moves_the_split_without_a_restart(gray: GrayCluster) -> None:
    movers = [
        u
        for u in USERS
        if expected_track("api", u, 20) == "stable" and expected_track("api", u, 60) == "canary"
    ]
    stayers = [u for u in USERS if expected_track("api", u, 20) == "canary"][:50]
    sample, pid = movers[:50], gray.gateway.process.pid if gray.gateway.process else None
    try:
        write_routes(gray.route_file, 60)

        async def moved() -> bool:
            answers = await chat_all(gray.gateway.url, sample, "moved yet?")
            return all(a["track"] == "canary" and a["reply"] == CANARY_REPLY for a in answers.values())

        deadline = asyncio.get_running_loop().time() + 15
        while not await moved():
            assert asyncio.get_running_loop().time() < deadline, "the new weight was not applied"
            await asyncio.sleep(0.2)
        # Raising the weight only adds users: the canary users of 20% are still canary users.
        kept = await chat_all(gray.gateway.url, stayers, "still here?")
        assert {a["track"] for a in kept.values()} == {"canary"}
        # The same gateway process did it: no restart.
        assert gray.gateway.process is not None and gray.gateway.process.pid == pid
        assert gray.gateway.process.poll() is None
    finally:
        write_routes(gray.route_file, 20)
        await _wait_for_weight_20(gray)


async def _wait_for_weight_20(gray: GrayCluster) -> None:
    probe = next(
        u
        for u in USERS
        if expected_track("api", u, 60) == "canary" and expected_track("api", u, 20) == "stable"
    )
    for _ in range(150):
        if (await chat_all(gray.gateway.url, [probe], "back?"))[probe]["track"] == "stable":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the weight did not return to 20")


def replies(gray: GrayCluster, message_id: str) -> list[Recorded]:
    return [r for r in gray.callback.received("/hook") if r.json().get("message_id") == message_id]


def test_webhook_traffic_is_queued_per_track_by_the_same_hash(gray: GrayCluster) -> None:
    """Platform messages have no header to pick a track: the gateway enqueues each to its user's
    track stream in Redis, and only that track's engine consumes it."""
    users = USERS[:120]
    with httpx.Client(base_url=gray.gateway.url, timeout=10) as http:
        for user in users:
            body = {"message": "via the queue", "user_id": user, "message_id": f"q-{user}"}
            assert http.post(f"/webhook/http/{BINDING}", json=body).status_code == 202
    for user in users:
        (reply,) = eventually(lambda user=user: replies(gray, f"q-{user}"), within=60)
        answer = reply.json()
        want = expected_track("http", user, 20)
        assert (answer["track"], answer["reply"]) == (want, REPLY_OF[want]), user
    tracks = Counter(expected_track("http", u, 20) for u in users)
    assert tracks["canary"] > 0 and tracks["stable"] > 0  # both streams were exercised


def test_parley_track_tells_support_staff_the_same_answer() -> None:
    for user in USERS[:20]:
        out = run_cli("track", "--bot", BOT, "--platform", "api", "--user", user, "--weight", "20")
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == expected_track("api", user, 20)
