"""Which routes a request tries, in which order: pure functions of the routes, a filter and an rng.

Order: priority groups, lowest number first. Inside a group, routes with weight > 0 come in a
weighted random order (drawn without replacement, so the second is the fallback within the
group); routes with weight 0 are standbys: they follow the weighted routes of their group in
declaration order and get traffic only when those are unavailable or fail.
"""

import random
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["Weighted", "attempt_order", "backoff_delay", "group_by_priority"]


class Weighted(Protocol):
    @property
    def priority(self) -> int: ...

    @property
    def weight(self) -> int: ...


T = TypeVar("T", bound=Weighted)


def group_by_priority(routes: Sequence[T]) -> list[list[T]]:
    """Routes grouped by priority (ascending), declaration order kept inside each group."""
    groups: dict[int, list[T]] = {}
    for route in routes:
        groups.setdefault(route.priority, []).append(route)
    return [groups[p] for p in sorted(groups)]


def _weighted_order(group: list[T], rng: random.Random) -> list[T]:
    weighted = [r for r in group if r.weight > 0]
    standby = [r for r in group if r.weight <= 0]
    order: list[T] = []
    total = sum(r.weight for r in weighted)
    while len(weighted) > 1:
        point = rng.random() * total
        for i, route in enumerate(weighted):
            point -= route.weight
            if point < 0 or i == len(weighted) - 1:
                order.append(weighted.pop(i))
                total -= route.weight
                break
    order.extend(weighted)
    order.extend(standby)
    return order


def attempt_order(
    groups: Sequence[Sequence[T]], eligible: Callable[[T], bool], rng: random.Random
) -> list[T]:
    """Every eligible route once, in the order a request should try them."""
    order: list[T] = []
    for group in groups:
        candidates = [r for r in group if eligible(r)]
        if len(candidates) == 1:
            order.append(candidates[0])  # the common case: no random draw needed
        elif candidates:
            order.extend(_weighted_order(candidates, rng))
    return order


def backoff_delay(attempt: int, rng: random.Random, *, base: float, cap: float) -> float:
    """Seconds to wait before retry number `attempt` (1-based): exponential with full jitter."""
    return rng.uniform(0.0, min(cap, base * (2 ** (attempt - 1))))
