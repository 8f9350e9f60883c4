"""Every provider preset against the fake API of its family, and the `parley` commands that name them.

`baseURL` points each preset at a fake on 127.0.0.1, so what reaches the server (path, key header,
Azure's `api-version` query) is checked on the wire.
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import binding_doc, chatbot_doc, dump_yaml
from fakes.llm_servers import FAKES, FakeLLMServer, route_for
from parley_runtime.config import presets
from parley_runtime.core.chat import ChatMessage, ChatRequest
from parley_runtime.llm import providers

KEY = "sk-preset-wire"
HELLO = ChatRequest(messages=(ChatMessage(role="user", content="hello"),))
FAKE_OF = {"openai-compatible": "openai", "anthropic": "anthropic", "gemini": "gemini"}
PATHS = {
    "openai-compatible": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/fake-model:generateContent",
}
AZURE_PATH = "/openai/deployments/fake-model/chat/completions"


def _parley() -> list[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).with_name("parley")
    return [str(script)] if script.exists() else [sys.executable, "-m", "parley_runtime.cli"]


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeLLMServer]]:
    started = {kind: FAKES[kind](text="preset ok").start() for kind in sorted(set(FAKE_OF.values()))}
    yield started
    for server in started.values():
        server.stop()


def _key_header(family: str, name: str, headers: dict[str, str]) -> tuple[str, str | None]:
    header = {"openai-compatible": "authorization", "anthropic": "x-api-key", "gemini": "x-goog-api-key"}[
        family
    ]
    header = "api-key" if name == "azure-openai" else header
    return header, headers.get(header)


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
async def test_preset_request_shape_on_the_wire(name: str, fakes, http) -> None:
    preset = presets.PRESETS[name]
    srv = fakes[FAKE_OF[preset.family]]
    base = srv.url.removesuffix("/v1") if name == "azure-openai" else srv.url
    route = route_for(srv, "main", provider=name, baseURL=base)
    before = len(srv.requests)

    response = await providers.create_provider(route, KEY, http).complete(HELLO)

    assert response.text == "preset ok"
    [request] = srv.requests[before:]
    header, value = _key_header(preset.family, name, request.headers)
    expected_key = f"Bearer {KEY}" if header == "authorization" else KEY
    assert value == expected_key, header
    if name == "azure-openai":
        assert (request.path, request.query) == (AZURE_PATH, f"api-version={presets.AZURE_API_VERSION}")
        assert "authorization" not in request.headers
    else:
        assert (request.path, request.query) == (PATHS[preset.family], "")


async def test_azure_stream_carries_the_route_api_version(fakes, http) -> None:
    srv = fakes["openai"]
    route = route_for(
        srv,
        "main",
        provider="azure-openai",
        baseURL=srv.url.removesuffix("/v1"),
        apiVersion="2025-04-01-preview",
    )
    before = len(srv.requests)

    chunks = [c async for c in providers.create_provider(route, KEY, http).stream(HELLO)]

    assert "".join(c.delta for c in chunks) == "preset ok"
    [request] = srv.requests[before:]
    assert (request.path, request.query) == (AZURE_PATH, "api-version=2025-04-01-preview")
    assert request.headers["api-key"] == KEY


@pytest.mark.parametrize("name", ["ollama", "vllm", "lmstudio"])
async def test_local_servers_answer_without_a_key(name: str, fakes, http) -> None:
    srv = fakes["openai"]
    route = route_for(srv, "main", provider=name, apiKey=None)
    before = len(srv.requests)

    await providers.create_provider(route, None, http).complete(HELLO)

    [request] = srv.requests[before:]
    assert "authorization" not in request.headers


# --- the commands ------------------------------------------------------------------------------------


def _manifest(tmp_path: Path, provider: str) -> Path:
    route = {"name": "main", "provider": provider, "model": "m"}
    path = tmp_path / "bot.yaml"
    path.write_text(
        dump_yaml(chatbot_doc("demo", models={"routes": [route]}), binding_doc("demo-http", "demo"))
    )
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_parley(), *args], capture_output=True, text=True, timeout=120, check=False)


def test_validate_refuses_an_unknown_provider_naming_the_closest(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "deepsek")
    done = _run("validate", "-f", str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{path}: ChatBot/demo: spec.models.routes[0].provider: unknown provider; did you mean deepseek?"
    ]


def test_serve_refuses_an_unknown_provider_before_listening(tmp_path: Path) -> None:
    path = _manifest(tmp_path, "deepsek")
    done = _run("serve", "-f", str(path), "--data-dir", str(tmp_path / "data"), "--port", "0")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"parley: error: {path}: ChatBot/demo: spec.models.routes[0].provider: "
        "unknown provider; did you mean deepseek?"
    ]


def test_validate_accepts_every_preset(tmp_path: Path) -> None:
    routes = []
    for i, name in enumerate(sorted(presets.PRESETS)):
        route = {"name": f"r{i}", "provider": name, "model": "m", "priority": i}
        if presets.PRESETS[name].needs_key:
            route["apiKey"] = {"secretKeyRef": {"name": "llm", "key": name}}
        if name == "azure-openai":
            route["baseURL"] = "https://res.openai.azure.com"
        routes.append(route)
    path = tmp_path / "all.yaml"
    path.write_text(dump_yaml(chatbot_doc("demo", models={"routes": routes})))
    done = _run("validate", "-f", str(path))
    assert (done.returncode, done.stderr) == (0, "")


def test_parley_providers_lists_all_twenty() -> None:
    done = _run("providers")
    assert (done.returncode, done.stderr) == (0, "")
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert names == sorted(presets.PRESETS) and len(names) == 20
    assert "azure-openai  openai-compatible  -" in done.stdout
    assert any(
        line.split()[1:] == ["openai-compatible", "https://api.deepseek.com/v1"]
        for line in done.stdout.splitlines()
    )
