import hashlib

from hypothesis import given
from hypothesis import strategies as st

from parley_runtime.core.tracks import bucket, track_for


def test_bucket_matches_the_spec_formula() -> None:
    digest = hashlib.sha256(b"helpdesk:feishu:ou_123").digest()
    assert bucket("helpdesk", "feishu", "ou_123") == int.from_bytes(digest[:8], "big") % 10000


def test_zero_and_hundred_are_exact() -> None:
    users = [f"u{i}" for i in range(2000)]
    assert {track_for("b", "p", u, 0) for u in users} == {"stable"}
    assert {track_for("b", "p", u, 100) for u in users} == {"canary"}


def test_distribution_close_to_weight() -> None:
    users = [f"user-{i}" for i in range(100_000)]
    for weight in (1, 10, 50, 90):
        share = sum(track_for("bot", "telegram", u, weight) == "canary" for u in users) / len(users)
        assert abs(share - weight / 100) <= 0.005, (weight, share)


@given(user=st.text(max_size=30), low=st.floats(0, 100), high=st.floats(0, 100))
def test_raising_the_weight_only_adds_users(user: str, low: float, high: float) -> None:
    low, high = min(low, high), max(low, high)
    if track_for("b", "slack", user, low) == "canary":
        assert track_for("b", "slack", user, high) == "canary"


@given(user=st.text(max_size=30), weight=st.floats(0, 100))
def test_sticky_for_a_given_weight(user: str, weight: float) -> None:
    assert track_for("b", "qq", user, weight) == track_for("b", "qq", user, weight)
