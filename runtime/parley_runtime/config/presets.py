"""Provider presets: what each `provider:` name of a model route means, as data.

A preset fixes the wire family, the default base URL, how the key travels and the few quirks (Azure's
deployment path and `api-version` query). A route's `baseURL` overrides the default. The table lives in
config, not in `llm`, because the route model, the CRD (its enum and CEL rules) and the operator need
the names too; the LLM providers read it, `parley providers` prints it. Pure data, no I/O.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from parley_runtime.config.errors import closest

__all__ = [
    "AZURE_API_VERSION",
    "NAMES",
    "PRESETS",
    "PROVIDERS",
    "AuthStyle",
    "Family",
    "Preset",
    "lookup",
    "suggest",
]

Family = Literal["openai-compatible", "anthropic", "gemini", "echo"]

# How the key travels: `Authorization: Bearer <key>`, or the key alone in a vendor header.
AuthStyle = Literal["bearer", "api-key", "x-api-key", "x-goog-api-key", "none"]

AZURE_API_VERSION = "2024-10-21"  # the latest GA data-plane inference version of the dated API


@dataclass(frozen=True)
class Preset:
    name: str
    family: Family
    base_url: str | None  # None: the route must give `baseURL` (Azure's resource endpoint)
    auth: AuthStyle = "bearer"
    needs_key: bool = True  # local servers and the generic names run without a key
    chat_path: str = "/chat/completions"  # OpenAI family: appended to the base URL; `{model}` is filled in
    api_version: str | None = None  # default `api-version` query value; None: no such parameter

    @property
    def needs_base_url(self) -> bool:
        return self.base_url is None and self.family != "echo"

    def key_headers(self, api_key: str | None) -> dict[str, str]:
        """The request headers that carry `api_key` (none without a key)."""
        if not api_key or self.auth == "none":
            return {}
        if self.auth == "bearer":
            return {"authorization": f"Bearer {api_key}"}
        return {self.auth: api_key}


_PRESETS = (
    Preset("openai", "openai-compatible", "https://api.openai.com/v1"),
    Preset("deepseek", "openai-compatible", "https://api.deepseek.com/v1"),
    Preset("qwen", "openai-compatible", "https://dashscope.aliyuncs.com/compatible-mode/v1"),
    Preset("moonshot", "openai-compatible", "https://api.moonshot.cn/v1"),
    Preset("zhipu", "openai-compatible", "https://open.bigmodel.cn/api/paas/v4"),
    Preset("siliconflow", "openai-compatible", "https://api.siliconflow.cn/v1"),
    Preset("doubao", "openai-compatible", "https://ark.cn-beijing.volces.com/api/v3"),
    Preset("minimax", "openai-compatible", "https://api.minimaxi.com/v1"),
    Preset("openrouter", "openai-compatible", "https://openrouter.ai/api/v1"),
    Preset("groq", "openai-compatible", "https://api.groq.com/openai/v1"),
    Preset("mistral", "openai-compatible", "https://api.mistral.ai/v1"),
    Preset("xai", "openai-compatible", "https://api.x.ai/v1"),
    Preset("together", "openai-compatible", "https://api.together.xyz/v1"),
    Preset("fireworks", "openai-compatible", "https://api.fireworks.ai/inference/v1"),
    Preset(
        "azure-openai",
        "openai-compatible",
        None,
        auth="api-key",
        chat_path="/openai/deployments/{model}/chat/completions",
        api_version=AZURE_API_VERSION,
    ),
    Preset("ollama", "openai-compatible", "http://localhost:11434/v1", needs_key=False),
    Preset("vllm", "openai-compatible", "http://localhost:8000/v1", needs_key=False),
    Preset("lmstudio", "openai-compatible", "http://localhost:1234/v1", needs_key=False),
    Preset("anthropic", "anthropic", "https://api.anthropic.com", auth="x-api-key"),
    Preset("gemini", "gemini", "https://generativelanguage.googleapis.com", auth="x-goog-api-key"),
)

# The generic names that are families rather than vendors (`anthropic` and `gemini` are both).
_GENERIC = (
    Preset("openai-compatible", "openai-compatible", "https://api.openai.com/v1", needs_key=False),
    Preset("echo", "echo", None, auth="none", needs_key=False),
)

PRESETS: Mapping[str, Preset] = {p.name: p for p in _PRESETS}
"""The vendor presets, one line each in `parley providers`."""

PROVIDERS: Mapping[str, Preset] = {p.name: p for p in (*_PRESETS, *_GENERIC)}
"""Every name `provider:` accepts."""

NAMES: tuple[str, ...] = tuple(sorted(PROVIDERS))


def lookup(name: str) -> Preset:
    """The entry of an accepted name (the route model refuses any other)."""
    return PROVIDERS[name]


def suggest(name: str) -> str | None:
    """The accepted name closest to a mistyped one, if any is close."""
    return closest(name, NAMES)
