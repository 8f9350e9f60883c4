"""What several chaos tests share: reading a counter from /metrics, waiting for a quiet moment, and
the manifests of the bot under test (echo model, rate limit out of the way)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from factories import binding_doc, chatbot_doc

__all__ = ["BOT", "Report", "bot_doc", "counter", "http_binding", "reached", "settle", "telegram_binding"]

BOT = "chaos"
Report = Callable[..., None]  # the `report` fixture of conftest.py: report(name=figure, ...)
# Time given to a duplicate to show up, after everything expected arrived: the wait of
# tests/integration/split/test_split_crash.py. Not a timing assertion — nothing is measured.
SETTLE_SECONDS = 1.5


def bot_doc(**spec: Any) -> dict[str, Any]:
    """The chaos bot: echo model, and a rate limit far above what a test sends."""
    return chatbot_doc(BOT, rateLimit={"perUserPerMinute": 100_000}, **spec)


def http_binding(callback_base: str) -> dict[str, Any]:
    return binding_doc("chaos-http", bot=BOT, platform="http", callbackUrl=f"{callback_base}/hook")


def telegram_binding(api_base: str, secret: str = "tg") -> dict[str, Any]:
    return binding_doc("chaos-tg", bot=BOT, platform="telegram", secret=secret, apiBase=api_base)


def counter(base_url: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (0 when absent); labels are matched in any order."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        sample, _, value = line.rpartition(" ")
        found = set(sample[sample.find("{") + 1 : sample.rfind("}")].split(",")) if "{" in sample else set()
        if wanted <= found:
            return float(value)
    return 0.0


def settle() -> None:
    time.sleep(SETTLE_SECONDS)


def reached(condition: Callable[[], object], *, within: float, interval: float = 0.05) -> bool:
    """Polls `condition` until it holds or `within` seconds passed; the caller reports its figures
    either way, then asserts (a wait with a deadline, not a timing assertion)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
