"""Route ordering (priority, weights, standbys, eligibility) and the backoff curve."""

import random
from collections import Counter
from dataclasses import dataclass

import pytest

from parley_runtime.llm.selection import attempt_order, backoff_delay, group_by_priority


@dataclass(frozen=True)
class R:
    name: str
    priority: int = 0
    weight: int = 100


def names(routes) -> list[str]:
    return [r.name for r in routes]


def test_groups_sorted_by_priority_keeping_declaration_order() -> None:
    routes = [R("c", 2), R("a", 0), R("b", 0), R("d", 1)]
    assert [names(g) for g in group_by_priority(routes)] == [["a", "b"], ["d"], ["c"]]


def test_lower_priority_number_is_tried_first_and_every_route_once() -> None:
    groups = group_by_priority([R("backup", 5), R("main", 0), R("mid", 1)])
    assert names(attempt_order(groups, lambda r: True, random.Random(0))) == ["main", "mid", "backup"]


def test_ineligible_routes_are_left_out() -> None:
    groups = group_by_priority([R("a", 0), R("b", 0), R("c", 1)])
    order = attempt_order(groups, lambda r: r.name != "a", random.Random(0))
    assert names(order) == ["b", "c"]


def test_weighted_first_pick_follows_weights() -> None:
    groups = group_by_priority([R("a", weight=80), R("b", weight=20)])
    rng = random.Random(42)
    firsts = Counter(attempt_order(groups, lambda r: True, rng)[0].name for _ in range(10_000))
    assert firsts["a"] / 10_000 == pytest.approx(0.8, abs=0.02)


def test_the_other_weighted_route_is_the_fallback_within_the_group() -> None:
    groups = group_by_priority([R("a", weight=50), R("b", weight=50), R("z", 1)])
    for seed in range(20):
        order = names(attempt_order(groups, lambda r: True, random.Random(seed)))
        assert sorted(order[:2]) == ["a", "b"] and order[2] == "z"


def test_weight_zero_is_a_standby_after_weighted_routes_of_its_group() -> None:
    groups = group_by_priority([R("standby", weight=0), R("a", weight=1), R("b", weight=1), R("next", 1)])
    for seed in range(20):
        order = names(attempt_order(groups, lambda r: True, random.Random(seed)))
        assert order[2:] == ["standby", "next"]


def test_weight_zero_alone_still_serves() -> None:
    groups = group_by_priority([R("only", weight=0)])
    assert names(attempt_order(groups, lambda r: True, random.Random(0))) == ["only"]


def test_single_candidate_needs_no_random_draw() -> None:
    class NoRandom(random.Random):
        def random(self) -> float:
            raise AssertionError("no draw expected")

    groups = group_by_priority([R("a"), R("b", 1)])
    assert names(attempt_order(groups, lambda r: True, NoRandom())) == ["a", "b"]


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 8])
def test_backoff_is_jittered_below_an_exponential_cap(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = min(4.0, 0.25 * 2 ** (attempt - 1))
    delays = [backoff_delay(attempt, rng, base=0.25, cap=4.0) for _ in range(200)]
    assert all(0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling / 2  # jitter spreads over the whole window
