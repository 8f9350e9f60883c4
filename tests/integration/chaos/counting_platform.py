"""A fake platform for the chaos tests: it counts what it *accepted*, per message and per part.

One Starlette app serves the two ends the chaos tests send replies to:

- the generic `http` platform's callback, `POST /hook`, keyed by the reply's `message_id`;
- Telegram's `POST /bot<token>/sendMessage`, keyed by chat and text, so each part of a split reply
  is a key of its own (every test message gets a chat of its own).

`policy` decides each answer: None accepts (2xx, counted in `accepted`), a `Reply` refuses (429/5xx,
counted in `refused`, never as an acceptance). An acceptance is what a user would see, so "answered
exactly once" is `accepted[key] == 1`.

    platform = CountingPlatform()
    platform.policy = lambda seen: THROTTLED if seen.message in late else None
    with serve(platform.app) as base: ...   # fakes.http_api.serve
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes.http_api import Reply

__all__ = ["CountingPlatform", "Seen", "tally", "telegram_key"]


@dataclass(frozen=True)
class Seen:
    """One reply request as the platform saw it."""

    key: str  # what "exactly once" counts: the message id, or chat and text of one part
    message: str  # the message it answers: the `http` message id, or the Telegram chat id
    text: str


Policy = Callable[[Seen], Reply | None]


def telegram_key(chat_id: object, text: str) -> str:
    return f"{chat_id}|{text}"


class CountingPlatform:
    def __init__(self) -> None:
        self.policy: Policy = lambda _seen: None
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[int] = Counter()  # by status
        self._lock = threading.Lock()
        self._message_ids = itertools.count(10_000)
        self.app = Starlette(
            routes=[
                Route("/hook", self._hook, methods=["POST"]),
                Route("/bot{token}/sendMessage", self._telegram, methods=["POST"]),
            ]
        )

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.accepted)

    def _decide(self, seen: Seen) -> Reply | None:
        refusal = self.policy(seen)
        with self._lock:
            if refusal is None:
                self.accepted[seen.key] += 1
            else:
                self.refused[refusal.status] += 1
        return refusal

    async def _hook(self, request: Request) -> Response:
        body = await request.json()
        seen = Seen(key=str(body["message_id"]), message=str(body["message_id"]), text=str(body["reply"]))
        refusal = self._decide(seen)
        return refusal.response() if refusal is not None else JSONResponse({"ok": True})

    async def _telegram(self, request: Request) -> Response:
        body = await request.json()
        chat, text = body["chat_id"], str(body["text"])
        refusal = self._decide(Seen(key=telegram_key(chat, text), message=str(chat), text=text))
        if refusal is not None:
            return refusal.response()
        result = {"message_id": next(self._message_ids), "chat": {"id": chat}, "text": text}
        return JSONResponse({"ok": True, "result": result})


def tally(expected: Iterable[str], accepted: Mapping[str, int]) -> dict[str, int]:
    """answered / duplicated / lost over the `expected` keys, plus acceptances of keys never expected."""
    wanted = list(expected)
    known = set(wanted)
    return {
        "answered": sum(1 for key in wanted if accepted.get(key, 0) >= 1),
        "duplicated": sum(accepted.get(key, 0) - 1 for key in wanted if accepted.get(key, 0) > 1),
        "lost": sum(1 for key in wanted if accepted.get(key, 0) == 0),
        "unexpected": sum(n for key, n in accepted.items() if key not in known),
    }
