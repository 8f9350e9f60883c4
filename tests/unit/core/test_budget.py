"""core.budget: the token heuristic and whole-turn trimming, by example and by property."""

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley_runtime.core import budget
from parley_runtime.core.chat import ChatMessage, Role, ToolCall

OVERHEAD = budget.MESSAGE_OVERHEAD_TOKENS


def msg(role: Role, content: str = "", **fields: object) -> ChatMessage:
    return ChatMessage(role=role, content=content, **fields)


def turn(question: str, *answers: str) -> list[ChatMessage]:
    return [msg("user", question), *(msg("assistant", answer) for answer in answers)]


def cost(messages: Sequence[ChatMessage]) -> int:
    return sum(budget.estimate_message_tokens(m) for m in messages)


# --- estimate_tokens by example ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("a", 1),
        ("abcd", 1),
        ("abcde", 2),
        ("x" * 400, 100),
        ("你好", 2),  # CJK: one token per character
        ("héllo", 2),  # 4 ASCII chars -> 1, one accented char -> 1
        ("ab 你", 2),
    ],
)
def test_estimate_tokens_examples(text: str, tokens: int) -> None:
    assert budget.estimate_tokens(text) == tokens


def test_cjk_costs_more_per_character_than_ascii() -> None:
    assert budget.estimate_tokens("你" * 40) > budget.estimate_tokens("a" * 40)


def test_message_estimate_counts_overhead_images_and_tool_calls() -> None:
    assert budget.estimate_message_tokens(msg("assistant")) == OVERHEAD
    assert budget.estimate_message_tokens(msg("user", "abcd")) == OVERHEAD + 1
    with_image = msg("user", "abcd", images=("https://example.test/cat.png",))
    assert budget.estimate_message_tokens(with_image) == OVERHEAD + 1 + budget.IMAGE_TOKENS
    call = ToolCall(id="c1", name="weather", arguments='{"city":"Paris"}')  # 7 + 16 ASCII chars
    assert budget.estimate_message_tokens(msg("assistant", tool_calls=(call,))) == OVERHEAD + 2 + 4


# --- estimate_tokens by property -----------------------------------------------------------------

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)


@given(texts, texts)
def test_estimate_is_monotone_under_concatenation(left: str, right: str) -> None:
    joined = budget.estimate_tokens(left + right)
    assert joined >= budget.estimate_tokens(left)
    assert joined >= budget.estimate_tokens(right)
    # and never more than pricing the halves separately (rounding happens once per text)
    assert joined <= budget.estimate_tokens(left) + budget.estimate_tokens(right)


@given(texts)
def test_estimate_is_non_negative_and_positive_for_any_text(text: str) -> None:
    tokens = budget.estimate_tokens(text)
    assert tokens >= 0
    assert (tokens >= 1) == (text != "")


# --- trim_history by example ---------------------------------------------------------------------


def test_keeps_everything_when_bounds_allow() -> None:
    history = turn("q1", "a1") + turn("q2", "a2")
    assert budget.trim_history(history, max_turns=10, max_tokens=10_000) == history


def test_max_turns_keeps_the_most_recent_whole_turns() -> None:
    history = turn("q1", "a1") + turn("q2", "a2", "a2 again") + turn("q3", "a3")
    kept = budget.trim_history(history, max_turns=2, max_tokens=10_000)
    assert kept == history[2:]


def test_max_tokens_drops_old_turns_but_never_splits_one() -> None:
    big = "x" * 400  # 100 tokens + overhead
    history = turn(big, big) + turn(big, big) + turn(big, big)
    one_turn = cost(turn(big, big))
    kept = budget.trim_history(history, max_turns=10, max_tokens=2 * one_turn + one_turn // 2)
    assert kept == history[2:]


def test_a_newest_turn_over_budget_leaves_nothing() -> None:
    history = turn("short", "short") + turn("x" * 4000, "ok")
    assert budget.trim_history(history, max_turns=10, max_tokens=100) == []


def test_zero_means_keep_nothing() -> None:
    history = turn("q", "a")
    assert budget.trim_history(history, max_turns=0, max_tokens=10_000) == []
    assert budget.trim_history(history, max_turns=5, max_tokens=0) == []


def test_orphan_leading_assistant_and_tool_messages_are_dropped() -> None:
    tool_result = msg("tool", "42", tool_call_id="c1")
    history = [msg("assistant", "hello!"), tool_result, *turn("q", "a")]
    assert budget.trim_history(history, max_turns=10, max_tokens=10_000) == history[2:]


def test_tool_messages_stay_with_their_turn() -> None:
    call = ToolCall(id="c1", name="lookup")
    history = [
        *turn("q1", "a1"),
        msg("user", "q2"),
        msg("assistant", tool_calls=(call,)),
        msg("tool", "result", tool_call_id="c1"),
        msg("assistant", "a2"),
    ]
    assert budget.trim_history(history, max_turns=1, max_tokens=10_000) == history[2:]


def test_negative_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        budget.trim_history([], max_turns=-1, max_tokens=10)


# --- trim_history by property --------------------------------------------------------------------

messages_strategy = st.lists(
    st.builds(
        msg,
        st.sampled_from(["user", "assistant", "tool", "system"]),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(messages_strategy, st.integers(min_value=0, max_value=8), st.integers(min_value=0, max_value=400))
def test_trim_is_a_maximal_suffix_of_whole_turns_within_both_bounds(
    messages: list[ChatMessage], max_turns: int, max_tokens: int
) -> None:
    kept = budget.trim_history(messages, max_turns=max_turns, max_tokens=max_tokens)
    start = len(messages) - len(kept)

    # a suffix, order preserved
    assert kept == messages[start:]
    # whole turns: it starts at a user message (so the last turn runs to the end) unless empty
    assert not kept or kept[0].role == "user"
    # within both bounds
    turns = sum(1 for m in kept if m.role == "user")
    assert turns <= max_turns
    assert cost(kept) <= max_tokens
    # maximal: the turn just before the cut would break a bound
    earlier_user = [i for i in range(start) if messages[i].role == "user"]
    if earlier_user:
        previous_turn = messages[earlier_user[-1] : start]
        assert turns + 1 > max_turns or cost(kept) + cost(previous_turn) > max_tokens


# --- Trimmed.extend: the incremental trim the serve session store uses ---------------------------

turn_strategy = st.builds(
    lambda question, answers: [msg("user", question), *(msg(role, text) for role, text in answers)],
    st.text(max_size=40),
    st.lists(st.tuples(st.sampled_from(["assistant", "tool"]), st.text(max_size=40)), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    messages_strategy,
    st.lists(turn_strategy | messages_strategy, max_size=6),
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=0, max_value=400),
)
def test_extend_equals_trimming_the_whole_history_each_time(
    start: list[ChatMessage], appends: list[list[ChatMessage]], max_turns: int, max_tokens: int
) -> None:
    whole = budget.trim_history(start, max_turns=max_turns, max_tokens=max_tokens)
    kept = budget.Trimmed.of(start, max_turns=max_turns, max_tokens=max_tokens)
    for new in appends:
        whole = budget.trim_history([*whole, *new], max_turns=max_turns, max_tokens=max_tokens)
        kept = kept.extend(new, max_turns=max_turns, max_tokens=max_tokens)
        assert list(kept.messages) == whole
        assert kept.turns == sum(1 for m in whole if m.role == "user")
        assert kept.tokens == cost(whole)


def test_extend_drops_the_oldest_turn_once_full() -> None:
    first, second, third = turn("one", "1"), turn("two", "2"), turn("three", "3")
    kept = budget.Trimmed.of([*first, *second], max_turns=2, max_tokens=10_000)
    kept = kept.extend(third, max_turns=2, max_tokens=10_000)
    assert list(kept.messages) == [*second, *third]
    assert (kept.turns, kept.tokens) == (2, cost([*second, *third]))
    with pytest.raises(ValueError, match="must be >= 0"):
        kept.extend(third, max_turns=-1, max_tokens=10)
