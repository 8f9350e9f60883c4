"""Sends over a connection another process holds, as request/response over Redis Pub/Sub.

OneBot implementations connect to us (a reverse WebSocket) and land on whichever gateway replica the
Service picked, but engines write the replies. An engine publishes each send on the binding's channel
and waits on its own reply channel; every gateway subscribed to that binding tries the send with its
local adapter and answers under the request's id. The first success or permanent failure decides. A
gateway without the socket answers with a retryable error, so when every receiver said so — or nobody
answered within the timeout, or no gateway listens at all — the engine raises `RetryableSendError` and
the outbound sender retries with backoff (and finally dead-letters). Pub/Sub is at-most-once; the
timeout is what turns a lost request or answer into a retry.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import RedisError

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import SendReply
from parley_runtime.core.send_errors import PermanentSendError, RetryableSendError, SendError

__all__ = ["RelayClient", "SendOutcome", "SendRequest", "request_channel", "serve_sends"]

log = logging.getLogger("parley.relay")

SendStatus = Literal["sent", "retryable", "permanent"]

_POLL_SECONDS = 1.0  # how long one get_message waits, so cancellation is prompt


def request_channel(prefix: str, bot: str, binding: str) -> str:
    return f"{prefix}:{bot}:relay:{binding}"


class SendRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    reply_to: str
    message: OutboundMessage


class SendOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    outcome: SendStatus
    error: str = ""  # the SendError text without its platform prefix; never holds secrets
    retry_after: float | None = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Waiter:
    """Collects the answers to one request until one decides or all `expected` receivers answered."""

    def __init__(self) -> None:
        self.answers: list[SendOutcome] = []
        self.expected: int | None = None  # known once PUBLISH returned; answers may come first
        self.result: asyncio.Future[SendOutcome] = asyncio.get_running_loop().create_future()

    def add(self, outcome: SendOutcome) -> None:
        self.answers.append(outcome)
        self._settle()

    def expect(self, receivers: int) -> None:
        self.expected = receivers
        self._settle()

    def _settle(self) -> None:
        if self.result.done():
            return
        decisive = [a for a in self.answers if a.outcome != "retryable"]
        if decisive:
            self.result.set_result(decisive[0])
        elif self.expected is not None and self.answers and len(self.answers) >= self.expected:
            self.result.set_result(self.answers[0])


class RelayClient:
    """The engine's half: `send` one message through whichever gateway holds its connection."""

    def __init__(self, client: aioredis.Redis, *, bot: str, consumer: str, prefix: str = "parley") -> None:
        self.client = client
        self.bot = bot
        self.prefix = prefix
        self.reply_channel = f"{prefix}:{bot}:relay-replies:{consumer}"
        self._waiting: dict[str, _Waiter] = {}
        self._ready = asyncio.Event()

    async def run(self) -> None:
        """Listens for answers until cancelled; the engine runs it as a background loop."""
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(self.reply_channel)
            self._ready.set()
            while True:
                frame = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL_SECONDS)
                if frame is not None:
                    self._on_answer(frame.get("data"))
        finally:
            self._ready.clear()
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8

    def _on_answer(self, data: Any) -> None:
        try:
            outcome = SendOutcome.model_validate_json(_text(data))
        except ValidationError:
            log.warning("unreadable relay answer ignored")
            return
        waiter = self._waiting.get(outcome.id)
        if waiter is not None:
            waiter.add(outcome)

    async def send(self, message: OutboundMessage, *, wait_seconds: float) -> None:
        """Returns once a gateway sent it; raises the SendError the sender needs to decide."""
        platform, binding = message.inbound.platform, message.inbound.binding
        try:
            async with asyncio.timeout(wait_seconds):
                await self._ready.wait()
        except TimeoutError:
            raise RetryableSendError(platform, "relay: not subscribed to Redis yet") from None
        request = SendRequest(id=uuid.uuid4().hex, reply_to=self.reply_channel, message=message)
        waiter = _Waiter()
        self._waiting[request.id] = waiter
        try:
            channel = request_channel(self.prefix, self.bot, binding)
            try:
                receivers = int(await self.client.publish(channel, request.model_dump_json()))
            except RedisError as exc:
                raise RetryableSendError(
                    platform, f"relay: Redis unavailable ({type(exc).__name__})"
                ) from None
            if receivers == 0:
                raise RetryableSendError(platform, f"relay: no gateway listens for binding {binding}")
            waiter.expect(receivers)
            try:
                async with asyncio.timeout(wait_seconds):
                    outcome = await waiter.result
            except TimeoutError:
                raise RetryableSendError(
                    platform, f"relay: no gateway answered within {wait_seconds:g}s"
                ) from None
        finally:
            self._waiting.pop(request.id, None)
        if outcome.outcome == "permanent":
            raise PermanentSendError(platform, outcome.error)
        if outcome.outcome == "retryable":
            raise RetryableSendError(platform, outcome.error, retry_after=outcome.retry_after)


async def _perform(client: aioredis.Redis, send: SendReply, request: SendRequest) -> None:
    platform = request.message.inbound.platform
    try:
        await send(request.message)
        answer = SendOutcome(id=request.id, outcome="sent")
    except SendError as exc:
        kind: SendStatus = "retryable" if exc.retryable else "permanent"
        detail = str(exc).removeprefix(f"{exc.platform}: ")
        answer = SendOutcome(id=request.id, outcome=kind, error=detail, retry_after=exc.retry_after)
    except Exception as exc:  # an adapter bug: a retry will not help, as in the outbound sender
        log.exception("relayed send failed", extra={"platform": platform})
        answer = SendOutcome(id=request.id, outcome="permanent", error=f"unexpected {type(exc).__name__}")
    try:
        await client.publish(request.reply_to, answer.model_dump_json())
    except RedisError as exc:  # the engine times out and retries
        log.warning("relay answer not published", extra={"error": type(exc).__name__})


async def serve_sends(
    client: aioredis.Redis, *, bot: str, senders: Mapping[str, SendReply], prefix: str = "parley"
) -> None:
    """The gateway's half: performs relayed sends for the bindings in `senders` until cancelled."""
    by_channel = {request_channel(prefix, bot, binding): send for binding, send in senders.items()}
    if not by_channel:
        return
    pubsub = client.pubsub()
    tasks: set[asyncio.Task[None]] = set()
    try:
        await pubsub.subscribe(*by_channel)
        while True:
            frame = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL_SECONDS)
            if frame is None:
                continue
            send = by_channel.get(_text(frame.get("channel")))
            try:
                request = SendRequest.model_validate_json(_text(frame.get("data")))
            except ValidationError:
                log.warning("unreadable relay request ignored")
                continue
            if send is not None:
                task = asyncio.create_task(_perform(client, send, request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
        await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8
