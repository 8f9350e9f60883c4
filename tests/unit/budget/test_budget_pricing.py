"""The budget arithmetic: a request's worst case, an answer's real cost, counters and UTC days."""

import datetime as dt
from typing import Any

import pytest

from factories import make_chatbot
from parley_runtime.budget import pricing
from parley_runtime.config.models import Budget, Models
from parley_runtime.core import budget as estimator
from parley_runtime.core.chat import ChatMessage, ChatRequest, ToolCall, ToolSpec, Usage


def models(*routes: dict[str, Any]) -> Models:
    return Models.model_validate({"routes": list(routes)})


def route(name: str, inp: float, out: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "echo",
        "model": name,
        "pricing": {"inputPerMillion": inp, "outputPerMillion": out},
        **extra,
    }


def ask(text: str = "hello there", **fields: Any) -> ChatRequest:
    return ChatRequest(messages=(ChatMessage(role="user", content=text),), **fields)


def test_the_worst_case_is_the_dearest_eligible_route_at_its_output_cap() -> None:
    prices = pricing.PriceList(
        models(
            route("cheap", 1.0, 2.0, maxTokens=100),
            route("dear", 10.0, 30.0, maxTokens=50),
            route("uncapped", 2.0, 4.0),  # no maxTokens: the default cap is reserved
        )
    )
    request = ask()
    prompt = pricing.prompt_tokens(request)
    reserved = prices.worst_case(request, prompt)
    # the most tokens any route may use: the uncapped route's prompt + 1024
    assert reserved.tokens == prompt + pricing.DEFAULT_OUTPUT_TOKENS
    costs = {
        "cheap": (prompt * 1.0 + 100 * 2.0) / 1e6,
        "dear": (prompt * 10.0 + 50 * 30.0) / 1e6,
        "uncapped": (prompt * 2.0 + 1024 * 4.0) / 1e6,
    }
    dearest = max(costs, key=lambda name: costs[name])
    assert (reserved.route, reserved.usd) == (dearest, pytest.approx(costs[dearest]))


def test_the_request_max_tokens_caps_the_answer_on_every_route() -> None:
    prices = pricing.PriceList(models(route("a", 1.0, 1.0, maxTokens=500), route("b", 1.0, 1.0)))
    request = ask(max_tokens=7)
    prompt = pricing.prompt_tokens(request)
    assert prices.worst_case(request, prompt).tokens == prompt + 7


def test_only_routes_able_to_answer_are_priced() -> None:
    prices = pricing.PriceList(
        models(
            route("text", 1.0, 1.0, maxTokens=10),
            route("eyes", 5.0, 5.0, maxTokens=20, capabilities=["vision"]),
            route("voice", 1000.0, 1000.0, capabilities=["tts"]),  # speech only: never a chat answer
        )
    )
    plain = ask()
    prompt = pricing.prompt_tokens(plain)
    assert prices.worst_case(plain, prompt).route == "eyes"  # both can answer text: the dearer one
    picture = ChatRequest(messages=(ChatMessage(role="user", content="what is this?", images=("data:x",)),))
    with_image = prices.worst_case(picture, pricing.prompt_tokens(picture))
    assert with_image.route == "eyes"
    wanting = ask(capabilities=frozenset({"nothing-offers-this"}))
    # no route is able: every chat route is priced (the router will refuse anyway)
    assert prices.worst_case(wanting, prompt).route == "eyes"
    assert prices.worst_case(wanting, prompt).usd < 1000 * prompt / 1e6


def test_the_prompt_estimate_counts_messages_and_offered_tools() -> None:
    bare = ask("a fairly long question about budgets and tokens")
    tool = ToolSpec(name="weather", description="The weather in a city", parameters={"type": "object"})
    with_tools = bare.model_copy(update={"tools": (tool,)})
    assert pricing.prompt_tokens(bare) == sum(map(estimator.estimate_message_tokens, bare.messages))
    assert pricing.prompt_tokens(with_tools) > pricing.prompt_tokens(bare)


def test_the_real_cost_uses_the_answering_route_and_falls_back_to_the_reservations() -> None:
    prices = pricing.PriceList(models(route("a", 1.0, 2.0), route("b", 3.0, 4.0)))
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    reserved = pricing.Amount(tokens=9999, usd=1.0, route="b")
    on_a = prices.actual("a", usage, reserved)
    assert (on_a.tokens, on_a.route, on_a.usd) == (1500, "a", pytest.approx((1000 * 1 + 500 * 2) / 1e6))
    unknown = prices.actual("", usage, reserved)
    assert (unknown.route, unknown.usd) == ("b", pytest.approx((1000 * 3 + 500 * 4) / 1e6))


def test_an_answer_without_usage_is_estimated_with_its_tool_calls() -> None:
    call = ToolCall(id="1", name="weather", arguments='{"city": "Paris"}')
    assert pricing.answer_tokens("", ()) == 0
    assert pricing.answer_tokens("abcd" * 10, ()) == 10
    assert pricing.answer_tokens("", (call,)) == estimator.estimate_tokens(
        "weather"
    ) + estimator.estimate_tokens('{"city": "Paris"}')


@pytest.mark.parametrize(
    ("usd", "nanos"),
    [(0.0, 0), (1e-9, 1), (0.000123, 123_000), (0.1 + 0.2, 300_000_000), (2.5, 2_500_000_000), (1.5e-9, 2)],
)
def test_dollars_become_whole_nano_dollars_rounded_up(usd: float, nanos: int) -> None:
    assert pricing.nano_usd(usd) == nanos


def test_days_are_utc_calendar_days() -> None:
    just_before = dt.datetime(2025, 3, 1, 23, 59, 59, tzinfo=dt.UTC).timestamp()
    assert pricing.utc_day(just_before) == "2025-03-01"
    assert pricing.utc_day(just_before + 1) == "2025-03-02"
    # 01:00 in UTC+2 is still the previous UTC day
    plus_two = dt.datetime(2025, 3, 2, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))).timestamp()
    assert pricing.utc_day(plus_two) == "2025-03-01"


def test_counters_follow_the_configured_limits() -> None:
    budget = Budget.model_validate(
        {"perUserDaily": {"tokens": 5000, "usd": 0.25}, "perBotDaily": {"usd": 10}}
    )
    found = pricing.counters(budget, bot="helpdesk", platform="telegram", user_id="42")
    assert [(c.key, c.limit, c.unit, c.scope) for c in found] == [
        ("helpdesk:user:telegram:42:tokens", 5000, "tokens", "user"),
        ("helpdesk:user:telegram:42:usd", 250_000_000, "usd", "user"),
        ("helpdesk:bot:usd", 10_000_000_000, "usd", "bot"),
    ]
    amount = pricing.Amount(tokens=120, usd=0.0000015, route="main")
    assert [c.take(amount) for c in found] == [120, 1500, 1500]
    only_bot = Budget.model_validate({"perBotDaily": {"usd": 1}})
    assert [c.scope for c in pricing.counters(only_bot, bot="b", platform="p", user_id="u")] == ["bot"]


def test_a_usd_budget_needs_pricing_on_every_chat_route() -> None:
    priced = route("main", 1.0, 1.0)
    unpriced = {"name": "spare", "provider": "echo", "model": "echo-1"}
    speech = {"name": "voice", "provider": "echo", "model": "tts-1", "capabilities": ["tts"]}
    make_chatbot(models={"routes": [priced, speech]}, budget={"perBotDaily": {"usd": 1}})
    make_chatbot(
        models={"routes": [unpriced]}, budget={"perUserDaily": {"tokens": 100}}
    )  # tokens need no prices
    with pytest.raises(ValueError, match=r"budget.usd needs pricing on every chat route .*: spare"):
        make_chatbot(models={"routes": [priced, unpriced]}, budget={"perUserDaily": {"usd": 1}})


def test_budget_defaults_and_bounds() -> None:
    budget = Budget.model_validate({})
    assert budget.reply == "You have reached today's usage limit. Please try again tomorrow."
    assert not budget.limits_anything
    assert Budget.model_validate({"perUserDaily": {"tokens": 1}}).limits_anything
    for bad in ({"perUserDaily": {"usd": 0}}, {"perUserDaily": {"tokens": 0}}, {"reply": ""}, {"daily": 1}):
        with pytest.raises(ValueError):
            Budget.model_validate(bad)
