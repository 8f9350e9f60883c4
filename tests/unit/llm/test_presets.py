"""Provider presets: the table, the URL and key header each one produces, and how routes are checked.

The requests go through `httpx.MockTransport`, so the URL a provider would call is seen without a network.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from parley_runtime.cli import main
from parley_runtime.config import presets
from parley_runtime.config.errors import describe_validation_error
from parley_runtime.config.models import ModelRoute
from parley_runtime.core.chat import ChatMessage, ChatRequest
from parley_runtime.llm import providers

# The names the product contract fixes, and each preset's documented default endpoint.
DEFAULT_URLS = {
    "openai": "https://api.openai.com/v1/chat/completions",
    "deepseek": "https://api.deepseek.com/v1/chat/completions",
    "qwen": "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
    "moonshot": "https://api.moonshot.cn/v1/chat/completions",
    "zhipu": "https://open.bigmodel.cn/api/paas/v4/chat/completions",
    "siliconflow": "https://api.siliconflow.cn/v1/chat/completions",
    "doubao": "https://ark.cn-beijing.volces.com/api/v3/chat/completions",
    "minimax": "https://api.minimaxi.com/v1/chat/completions",
    "openrouter": "https://openrouter.ai/api/v1/chat/completions",
    "groq": "https://api.groq.com/openai/v1/chat/completions",
    "mistral": "https://api.mistral.ai/v1/chat/completions",
    "xai": "https://api.x.ai/v1/chat/completions",
    "together": "https://api.together.xyz/v1/chat/completions",
    "fireworks": "https://api.fireworks.ai/inference/v1/chat/completions",
    "ollama": "http://localhost:11434/v1/chat/completions",
    "vllm": "http://localhost:8000/v1/chat/completions",
    "lmstudio": "http://localhost:1234/v1/chat/completions",
    "anthropic": "https://api.anthropic.com/v1/messages",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/models/m-1:generateContent",
}
AZURE = "azure-openai"
LOCAL = {"ollama", "vllm", "lmstudio"}
KEY = "sk-preset-test"
HELLO = ChatRequest(messages=(ChatMessage(role="user", content="hello"),))

ANSWERS: dict[str, Any] = {
    "openai-compatible": {"choices": [{"message": {"role": "assistant", "content": "hi"}}]},
    "anthropic": {"content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"},
    "gemini": {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}}]},
}


def make_route(provider: str, **fields: Any) -> ModelRoute:
    base: dict[str, Any] = {"name": "r", "provider": provider, "model": "m-1"}
    if presets.lookup(provider).needs_key:
        base["apiKey"] = {"secretKeyRef": {"name": "llm", "key": "r"}}
    return ModelRoute.model_validate({**base, **fields})


async def sent_request(route: ModelRoute, api_key: str | None = KEY) -> httpx.Request:
    """The one request the route's provider sends for HELLO, answered by a MockTransport."""
    seen: list[httpx.Request] = []
    family = presets.lookup(route.provider).family

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ANSWERS[family])

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        response = await providers.create_provider(route, api_key, http).complete(HELLO)
    assert response.text == "hi"
    assert len(seen) == 1
    return seen[0]


def key_sent(request: httpx.Request) -> dict[str, str]:
    names = ("authorization", "api-key", "x-api-key", "x-goog-api-key")
    return {name: request.headers[name] for name in names if name in request.headers}


# --- the table ---------------------------------------------------------------------------------------


def test_the_twenty_presets_of_the_contract() -> None:
    assert sorted(presets.PRESETS) == sorted([*DEFAULT_URLS, AZURE])
    assert len(presets.PRESETS) == 20
    assert set(presets.NAMES) == {*presets.PRESETS, "openai-compatible", "echo"}
    assert list(presets.NAMES) == sorted(presets.NAMES)


def test_only_azure_lacks_a_default_base_url_and_only_local_servers_need_no_key() -> None:
    assert [p.name for p in presets.PRESETS.values() if p.base_url is None] == [AZURE]
    assert {p.name for p in presets.PRESETS.values() if not p.needs_key} == LOCAL
    assert presets.PRESETS[AZURE].api_version == presets.AZURE_API_VERSION


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("deepsek", "deepseek"), ("DeepSeek", "deepseek"), ("azure", "azure-openai"), ("olama", "ollama")],
)
def test_suggest_names_the_closest_preset(typo: str, meant: str) -> None:
    assert presets.suggest(typo) == meant


def test_suggest_stays_silent_when_nothing_is_close() -> None:
    assert presets.suggest("zzzz") is None


# --- the URL and key of each preset --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DEFAULT_URLS))
async def test_default_base_url_when_the_route_has_none(name: str) -> None:
    request = await sent_request(make_route(name))
    assert str(request.url) == DEFAULT_URLS[name]


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
async def test_key_travels_in_the_presets_header(name: str) -> None:
    fields = {"baseURL": "https://res.openai.azure.com"} if name == AZURE else {}
    request = await sent_request(make_route(name, **fields))
    expected = {
        "openai-compatible": {"authorization": f"Bearer {KEY}"},
        "anthropic": {"x-api-key": KEY},
        "gemini": {"x-goog-api-key": KEY},
    }[presets.PRESETS[name].family]
    assert key_sent(request) == ({"api-key": KEY} if name == AZURE else expected)


@pytest.mark.parametrize("name", sorted(LOCAL))
async def test_local_servers_without_a_key_send_no_key_header(name: str) -> None:
    request = await sent_request(make_route(name), api_key=None)
    assert key_sent(request) == {}


async def test_azure_calls_the_deployment_with_the_default_api_version() -> None:
    route = make_route(AZURE, model="gpt-4o-prod", baseURL="https://res.openai.azure.com/")
    request = await sent_request(route)
    assert str(request.url) == (
        "https://res.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions"
        f"?api-version={presets.AZURE_API_VERSION}"
    )
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers


async def test_azure_api_version_from_the_route() -> None:
    route = make_route(AZURE, baseURL="https://res.openai.azure.com", apiVersion="2025-04-01-preview")
    request = await sent_request(route)
    assert request.url.path == "/openai/deployments/m-1/chat/completions"
    assert request.url.params["api-version"] == "2025-04-01-preview"


@pytest.mark.parametrize("name", ["deepseek", "anthropic", "gemini"])
async def test_base_url_overrides_the_preset(name: str) -> None:
    request = await sent_request(make_route(name, baseURL="https://proxy.example/v1"))
    assert str(request.url).startswith("https://proxy.example/v1/")


# --- the route model ----------------------------------------------------------------------------------


def route_problems(**fields: Any) -> list[str]:
    doc = {"name": "r", "model": "m", **fields}
    with pytest.raises(ValidationError) as caught:
        ModelRoute.model_validate(doc)
    return describe_validation_error("bot.yaml: ChatBot/b", caught.value)


def test_unknown_provider_is_one_line_naming_the_field_and_the_closest_preset() -> None:
    assert route_problems(provider="deepsek") == [
        "bot.yaml: ChatBot/b: provider: unknown provider; did you mean deepseek?"
    ]


def test_unknown_provider_without_a_close_name_points_at_the_list() -> None:
    assert route_problems(provider="zzzz") == [
        "bot.yaml: ChatBot/b: provider: unknown provider; `parley providers` lists the presets"
    ]


@pytest.mark.parametrize("name", sorted(set(presets.PRESETS) - LOCAL - {AZURE}))
def test_hosted_presets_need_an_api_key(name: str) -> None:
    [line] = route_problems(provider=name)
    assert line.endswith(f"provider {name} needs apiKey")


def test_azure_needs_its_resource_endpoint() -> None:
    [line] = route_problems(provider=AZURE, apiKey={"secretKeyRef": {"name": "llm", "key": "r"}})
    assert "provider azure-openai needs baseURL" in line


def test_api_version_is_only_for_azure() -> None:
    [line] = route_problems(provider="openai-compatible", apiVersion="2024-10-21")
    assert line.endswith("apiVersion does not apply to provider openai-compatible")


@pytest.mark.parametrize("name", ["openai-compatible", "echo", *sorted(LOCAL)])
def test_generic_names_and_local_servers_run_without_a_key(name: str) -> None:
    assert make_route(name).api_key is None


# --- parley providers -------------------------------------------------------------------------------


def test_parley_providers_prints_one_sorted_line_per_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines]
    assert [row[0] for row in rows] == sorted(presets.PRESETS)
    for name, family, url in rows:
        preset = presets.PRESETS[name]
        assert (family, url) == (preset.family, preset.base_url or "-")


def test_the_configuration_reference_has_a_row_per_preset() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in presets.PRESETS if f"| `{name}`" not in docs]
    assert missing == []
