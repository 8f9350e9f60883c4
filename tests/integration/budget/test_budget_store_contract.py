"""What every budget store promises (`core.protocols.BudgetStore`), on SQLite and on Redis."""

import asyncio
import uuid

from integration.budget.conftest import OpenStore
from parley_runtime.core.protocols import BudgetStore, Charge

DAY = "2025-06-01"


def hold() -> str:
    return uuid.uuid4().hex


async def test_a_charge_that_fits_is_held_until_settled(open_store: OpenStore) -> None:
    store = await open_store()
    first = hold()
    assert await store.reserve(DAY, first, [Charge("u", 100, 60)], 60) is None
    # 60 held: another 60 does not fit, 40 does
    assert await store.reserve(DAY, hold(), [Charge("u", 100, 60)], 60) == "u"
    await store.settle(DAY, first, [("u", 25)])  # the call cost less than its worst case
    assert await store.spent(DAY, "u") == 25
    assert await store.reserve(DAY, hold(), [Charge("u", 100, 75)], 60) is None
    assert await store.reserve(DAY, hold(), [Charge("u", 100, 1)], 60) == "u"


async def test_a_refusal_holds_nothing_on_any_counter(open_store: OpenStore) -> None:
    store = await open_store()
    charges = [Charge("user", 1000, 10), Charge("bot", 5, 10)]
    assert await store.reserve(DAY, hold(), charges, 60) == "bot"
    # the user counter was not touched: its whole limit is still there
    assert await store.reserve(DAY, hold(), [Charge("user", 1000, 1000)], 60) is None


async def test_a_release_gives_the_hold_back_and_spends_nothing(open_store: OpenStore) -> None:
    store = await open_store()
    held = hold()
    assert await store.reserve(DAY, held, [Charge("u", 10, 10), Charge("b", 10, 10)], 60) is None
    await store.settle(DAY, held, [("u", 0), ("b", 0)])
    assert await store.spent(DAY, "u") == 0 and await store.spent(DAY, "b") == 0
    assert await store.reserve(DAY, hold(), [Charge("u", 10, 10), Charge("b", 10, 10)], 60) is None


async def test_a_hold_whose_call_never_came_back_expires(open_store: OpenStore) -> None:
    store = await open_store()
    lost = hold()
    assert await store.reserve(DAY, lost, [Charge("u", 10, 10)], 0) is None  # expires at once
    assert await store.reserve(DAY, hold(), [Charge("u", 10, 10)], 60) is None
    # a late settle of the expired hold still counts what was spent
    await store.settle(DAY, lost, [("u", 3)])
    assert await store.spent(DAY, "u") == 3


async def test_days_and_keys_are_counted_apart(open_store: OpenStore) -> None:
    store = await open_store()
    for day in (DAY, "2025-06-02"):
        held = hold()
        assert await store.reserve(day, held, [Charge("a:b", 10, 10)], 60) is None
        await store.settle(day, held, [("a:b", 10)])
    assert await store.spent(DAY, "a:b") == 10 and await store.spent("2025-06-02", "a:b") == 10
    # keys that look like another key's parts are other counters
    for key in ("a", "a:b:holds", "a%3Ab", "a/b"):
        assert await store.reserve(DAY, hold(), [Charge(key, 10, 10)], 60) is None, key


async def test_concurrent_reservations_from_two_stores_never_overspend(open_store: OpenStore) -> None:
    one, two = await open_store(), await open_store()

    async def attempt(store: BudgetStore) -> bool:
        return await store.reserve(DAY, hold(), [Charge("bot", 100, 7)], 60) is None

    won = await asyncio.gather(*(attempt(one if i % 2 else two) for i in range(60)))
    assert sum(won) == 100 // 7  # 14 holds of 7 fit under 100, whoever asked


async def test_large_amounts_add_exactly(open_store: OpenStore) -> None:
    store = await open_store()
    limit = 9_000_000 * 10**9  # nine million dollars in nano-dollars
    for _ in range(3):
        held = hold()
        assert await store.reserve(DAY, held, [Charge("bot", limit, 10**15 + 1)], 60) is None
        await store.settle(DAY, held, [("bot", 10**15 + 1)])
    assert await store.spent(DAY, "bot") == 3 * (10**15 + 1)
