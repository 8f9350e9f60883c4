"""One live reverse-WebSocket connection: actions matched to answers by `echo`, failures as send errors.

OneBot answers an action with `{"status": "ok"|"async"|"failed", "retcode", "data", "echo"}` on the same
socket that carries events, so the reader (the adapter's receive loop) hands answers to `resolve`.
"""

import asyncio
import json
import uuid
from typing import Any

from starlette.websockets import WebSocket

from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError

__all__ = ["API_ROLES", "ROLES", "Connection"]

PLATFORM = "onebot"
ROLES = ("universal", "event", "api")
API_ROLES = ("universal", "api")


class Connection:
    def __init__(self, websocket: WebSocket, *, role: str, self_id: str | None) -> None:
        self.websocket = websocket
        self.role = role
        self.self_id = self_id
        self.last_heartbeat: float | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._write_lock = asyncio.Lock()
        self.closed = False

    def __repr__(self) -> str:
        return f"Connection(role={self.role!r}, self_id={self.self_id!r}, closed={self.closed})"

    @property
    def can_call(self) -> bool:
        return self.role in API_ROLES and not self.closed

    def resolve(self, answer: dict[str, Any]) -> bool:
        """Hand an action answer to its waiting caller; False when nobody waits for that echo."""
        future = self._pending.get(str(answer.get("echo")))
        if future is None or future.done():
            return False
        future.set_result(answer)
        return True

    def close(self) -> None:
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(RetryableSendError(PLATFORM, "the OneBot connection closed"))

    async def call(self, action: str, params: dict[str, Any], *, timeout_seconds: float) -> Any:
        """The answer's `data`; RetryableSendError on timeout/closed socket, PermanentSendError on 14xx."""
        if self.closed:
            raise RetryableSendError(PLATFORM, "the OneBot connection closed")
        echo = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[echo] = future
        try:
            frame = json.dumps({"action": action, "params": params, "echo": echo}, ensure_ascii=False)
            async with self._write_lock:
                await self.websocket.send_text(frame)
            async with asyncio.timeout(timeout_seconds):
                answer = await future
        except TimeoutError:
            raise RetryableSendError(PLATFORM, f"no answer to {action} within {timeout_seconds:g}s") from None
        except (RuntimeError, OSError) as exc:  # starlette raises RuntimeError once the socket is gone
            raise RetryableSendError(PLATFORM, f"{action}: socket error {type(exc).__name__}") from None
        finally:
            self._pending.pop(echo, None)
        return _data_or_raise(action, answer)


def _data_or_raise(action: str, answer: dict[str, Any]) -> Any:
    status, retcode = answer.get("status"), answer.get("retcode")
    if status in ("ok", "async"):
        return answer.get("data")
    detail = str(answer.get("wording") or answer.get("message") or "")[:200]
    what = f"{action} failed: retcode={retcode} {detail}".rstrip()
    if isinstance(retcode, int) and 1400 <= retcode < 1500:
        raise PermanentSendError(PLATFORM, what)  # bad request / unauthorized / forbidden / unknown action
    raise RetryableSendError(PLATFORM, what)
