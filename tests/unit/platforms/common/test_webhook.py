"""The shared replay-window check: boundaries, seconds vs milliseconds, malformed timestamps, and the
per-platform windows against the retry schedules they must cover and the de-duplication TTL; the JSON
body reader and the error answer every adapter shares."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley_runtime.gateway.intake import DEDUP_TTL_SECONDS
from parley_runtime.platforms.common import webhook
from parley_runtime.platforms.dingtalk import adapter as dingtalk
from parley_runtime.platforms.discord import adapter as discord
from parley_runtime.platforms.feishu import adapter as feishu
from parley_runtime.platforms.qq import adapter as qq
from parley_runtime.platforms.slack import crypto as slack
from parley_runtime.platforms.wechat_mp import adapter as wechat_mp
from parley_runtime.platforms.wecom import adapter as wecom

NOW = 1_700_000_000
SECONDS = webhook.ReplayWindow(behind=300, ahead=60)
MILLIS = webhook.ReplayWindow(behind=3600, ahead=3600, milliseconds=True)
WINDOWS = {
    "feishu": feishu.REPLAY_WINDOW,
    "dingtalk": dingtalk.REPLAY_WINDOW,
    "wecom": wecom.REPLAY_WINDOW,
    "wechat-mp": wechat_mp.REPLAY_WINDOW,
    "qq": qq.REPLAY_WINDOW,
    "slack": slack.REPLAY_WINDOW,
    "discord": discord.REPLAY_WINDOW,
}


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(0, True), (-300, True), (-301, False), (60, True), (61, False), (-NOW + 978_307_200, False)],
    ids=["now", "oldest", "too-old", "most-ahead", "too-far-ahead", "year-2001"],
)
def test_seconds_window_boundaries(offset: int, expected: bool) -> None:
    assert webhook.fresh(str(NOW + offset), NOW, SECONDS) is expected


def test_fractional_clock_is_compared_exactly() -> None:
    assert webhook.fresh(str(NOW - 300), NOW + 0.0, SECONDS)
    assert not webhook.fresh(str(NOW - 300), NOW + 0.001, SECONDS)


@pytest.mark.parametrize(
    ("offset_ms", "expected"),
    [(-3_600_000, True), (-3_600_001, False), (3_600_000, True), (3_600_001, False)],
)
def test_millisecond_window_boundaries(offset_ms: int, expected: bool) -> None:
    assert webhook.fresh(str(NOW * 1000 + offset_ms), NOW, MILLIS) is expected


def test_seconds_are_not_taken_for_milliseconds_or_back() -> None:
    assert not webhook.fresh(str(NOW), NOW, MILLIS)  # 1970 in milliseconds
    assert not webhook.fresh(str(NOW * 1000), NOW, SECONDS)  # far future in seconds


@pytest.mark.parametrize(
    "timestamp",
    [
        "",
        "-5",
        "+1700000000",
        "1e9",
        "1700000000.0",
        " 1700000000",
        "1700000000\n",
        "0x6553f100",
        "１７００００００００",
        "1700000000²",
        "9" * 17,
        "NaN",
        "inf",
    ],
)
def test_malformed_timestamps_are_never_fresh(timestamp: str) -> None:
    assert not webhook.fresh(timestamp, NOW, SECONDS)
    assert not webhook.fresh(timestamp, NOW, MILLIS)


@given(st.text(max_size=40), st.floats(min_value=0, max_value=4e9))
def test_never_raises(timestamp: str, now: float) -> None:
    assert webhook.fresh(timestamp, now, SECONDS) in (True, False)


def test_stale_timestamp_is_a_counted_401() -> None:
    result = webhook.stale_timestamp()
    assert (result.status, result.rejected, result.reason, result.events) == (
        401,
        True,
        "stale-timestamp",
        (),
    )
    assert json.loads(result.body) == {"error": "timestamp outside the replay window"}


@pytest.mark.parametrize("platform", sorted(WINDOWS))
def test_every_window_is_inside_the_dedup_ttl(platform: str) -> None:
    """A replay inside the window is dropped by its event id, one outside it by the window: no gap."""
    window = WINDOWS[platform]
    assert 0 < window.behind < DEDUP_TTL_SECONDS and 0 < window.ahead < DEDUP_TTL_SECONDS


def test_windows_cover_the_documented_rules_and_retry_schedules() -> None:
    assert (slack.REPLAY_WINDOW.behind, slack.REPLAY_WINDOW.ahead) == (300, 300)  # "more than 5 minutes"
    assert (dingtalk.REPLAY_WINDOW.behind, dingtalk.REPLAY_WINDOW.ahead) == (3600, 3600)  # "1 hour"
    assert dingtalk.REPLAY_WINDOW.milliseconds
    # Feishu re-pushes the original request after 15 s, 5 min, 1 h and 6 h.
    assert feishu.REPLAY_WINDOW.behind >= 15 + 5 * 60 + 3600 + 6 * 3600
    # WeCom and WeChat: 3 attempts, 5 s apart.
    assert wecom.REPLAY_WINDOW.behind >= 15 and wechat_mp.REPLAY_WINDOW.behind >= 15
    assert qq.REPLAY_WINDOW.behind >= 60 * 60  # the C2C passive-reply window


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"text": "\xff"}', "body is not UTF-8"),
        (b"", "body is not valid JSON"),
        (b"{oops", "body is not valid JSON"),
        (b"\xff\xfe", "body is not valid JSON"),  # a UTF-16 byte-order mark, then nothing
        (b"[" * 100_000 + b"]" * 100_000, "body is not valid JSON"),  # nesting too deep
        (b"[1, 2]", "body must be a JSON object"),
        (b'"text"', "body must be a JSON object"),
        (b"null", "body must be a JSON object"),
    ],
    ids=["bad-utf8", "empty", "junk", "bom-only", "too-deep", "array", "string", "null"],
)
def test_json_object_refuses_with_one_short_reason(body: bytes, reason: str) -> None:
    with pytest.raises(webhook.BadJsonBody) as info:
        webhook.json_object(body)
    assert str(info.value) == reason


def test_json_object_reads_bytes_and_decrypted_text() -> None:
    assert webhook.json_object(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert webhook.json_object('{"text": "你好"}') == {"text": "你好"}


@given(st.binary(max_size=200))
def test_json_object_raises_nothing_else(body: bytes) -> None:
    try:
        assert isinstance(webhook.json_object(body), dict)
    except webhook.BadJsonBody as exc:
        assert str(exc).startswith("body ")


def test_error_is_json_and_a_reason_makes_it_a_rejection() -> None:
    plain = webhook.error(405, "use POST", headers={"allow": "POST"})
    assert (plain.status, json.loads(plain.body), dict(plain.headers), plain.rejected) == (
        405,
        {"error": "use POST"},
        {"allow": "POST"},
        False,
    )
    refused = webhook.error(401, "signature mismatch", "bad-signature")
    assert (refused.rejected, refused.reason, dict(refused.headers)) == (True, "bad-signature", {})
