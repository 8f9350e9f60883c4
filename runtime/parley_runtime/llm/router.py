"""The Router: one ChatModel in front of every configured route, with fallback, retries and circuits.

Per request: order the routes (`selection.attempt_order`: capable, circuit not open, by priority
then weight), try each with its own timeout and retries (exponential backoff, full jitter, on
retryable errors only), and move on to the next on any failure; `NoRouteError` only when every
candidate failed. A stream falls back only while nothing has been yielded to the caller.

Capabilities: a chat request needs the tags it asks for plus `vision` when it carries images. Tools
are optional: routes tagged `tools` are tried first with the tools, then the other capable routes
with the request sent without them (`tools=()`), so a vision route without tools still answers.
A route tagged `stt` or `tts` serves only that purpose (`transcribe`, `speak`), never chat, and is
left out of the chat health probe.

Metrics use the route name as the `provider` label (routes are the unit of health and
configuration; the provider family is in the manifest). Outcomes per call: ok, error, timeout,
rejected (a non-retryable answer such as HTTP 400/401).
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, TypeVar

import httpx

from parley_runtime.config.models import ModelRoute, Models
from parley_runtime.config.secrets import Secrets
from parley_runtime.core.chat import ChatMessage, ChatRequest, ChatResponse, StreamChunk, Usage
from parley_runtime.core.durations import parse_duration
from parley_runtime.core.protocols import ChatModel
from parley_runtime.llm import accounting, circuit, errors, provider_base, providers, selection
from parley_runtime.observability.metrics import Metrics

__all__ = ["BACKOFF_BASE_SECONDS", "BACKOFF_CAP_SECONDS", "SPEECH_CAPABILITIES", "Router", "build_router"]

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 4.0  # a Retry-After longer than this moves on to the next route instead
PROBE_REQUEST = ChatRequest(messages=(ChatMessage(role="user", content="ping"),), max_tokens=1)

SPEECH_CAPABILITIES = frozenset({"stt", "tts"})  # a route tagged with one serves only that purpose

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")
M = TypeVar("M")
_usage_of = attrgetter("usage")


def _no_usage(_: object) -> None:
    return None


def _served(model: M | None) -> M:
    """A speech route's transcriber or synthesizer: `_speech_plan` holds only the routes that have one."""
    assert model is not None
    return model


@dataclass(eq=False)
class RouteState:
    """One route with its provider, circuit, usage tally and pre-bound metric series."""

    spec: ModelRoute
    model: ChatModel
    circuit: circuit.Circuit
    metrics: Metrics
    capabilities: frozenset[str] = frozenset()
    tally: accounting.Tally = field(default_factory=accounting.Tally)

    def __post_init__(self) -> None:
        name, model, m = self.spec.name, self.spec.model, self.metrics
        self.capabilities = frozenset(self.spec.capabilities)
        self.chat = not (self.capabilities & SPEECH_CAPABILITIES)
        self.tools = "tools" in self.capabilities
        # Speech routes whose provider cannot do what they are tagged for are never chosen for it.
        provider: Any = self.model
        self.transcriber: provider_base.Transcriber | None = (
            provider
            if "stt" in self.capabilities and isinstance(provider, provider_base.Transcriber)
            else None
        )
        self.synthesizer: provider_base.Synthesizer | None = (
            provider
            if "tts" in self.capabilities and isinstance(provider, provider_base.Synthesizer)
            else None
        )
        self.timeout = self.spec.timeout_seconds
        self.outcome = {
            o: m.llm_requests.labels(name, model, o) for o in ("ok", "error", "timeout", "rejected")
        }
        self.seconds = m.llm_seconds.labels(name, model)
        self.up = m.provider_up.labels(name)
        self.prompt_tokens = m.llm_tokens.labels(name, model, "prompt")
        self.completion_tokens = m.llm_tokens.labels(name, model, "completion")
        self.cost = m.llm_cost.labels(name, model)
        self.up.set(1)

    @property
    def priority(self) -> int:
        return self.spec.priority

    @property
    def weight(self) -> int:
        return self.spec.weight


def _as_provider_error(route: str, exc: BaseException) -> errors.ProviderError:
    if isinstance(exc, errors.ProviderError):
        return exc
    if isinstance(exc, TimeoutError):
        return errors.ProviderTimeout(route, "timed out waiting for an answer")
    # A provider bug or an answer shape we did not foresee: another route may still answer.
    return errors.FatalError(route, f"unexpected {type(exc).__name__}")


class Router:
    """Implements ChatModel over several routes; build it with `build_router`."""

    def __init__(
        self,
        routes: Sequence[RouteState],
        *,
        clock: Callable[[], float],
        rng: random.Random,
        sleep: Sleep,
        probe_interval: float = 0.0,
    ) -> None:
        self._routes = list(routes)
        self._groups = selection.group_by_priority(self._routes)
        self._offered = frozenset(
            {c for r in self._routes if r.chat for c in r.capabilities}
            | {"stt" for r in self._routes if r.transcriber is not None}
            | {"tts" for r in self._routes if r.synthesizer is not None}
        )
        for route in self._routes:
            for tag, able in (("stt", route.transcriber), ("tts", route.synthesizer)):
                if tag in route.capabilities and able is None:
                    log.warning(
                        "llm route cannot serve its tag", extra={"route": route.spec.name, "capability": tag}
                    )
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self._probe_interval = probe_interval
        self._probe_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Router(routes={[r.spec.name for r in self._routes]})"

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the active health probe when `healthCheck.interval` > 0."""
        if self._probe_interval > 0 and self._probe_task is None:
            self._probe_task = asyncio.create_task(self._probe_forever(), name="parley-llm-probe")

    async def aclose(self) -> None:
        task, self._probe_task = self._probe_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _probe_forever(self) -> None:
        while True:
            await self._sleep(self._probe_interval)
            await self.probe_once()

    async def probe_once(self) -> dict[str, bool]:
        """Send a one-token request to every chat route and feed the result to its circuit."""
        results: dict[str, bool] = {}
        for route in self._routes:
            if not route.chat:
                continue  # speech endpoints have no cheap probe: their circuits learn from real calls
            try:
                async with asyncio.timeout(route.timeout):
                    response = await route.model.complete(PROBE_REQUEST)
            except Exception as exc:  # every failure is a verdict on the route, never a crash
                failure = _as_provider_error(route.spec.name, exc)
                if failure.counts_against_route and route.circuit.failure(self._clock()):
                    self._opened(route, failure)
                results[route.spec.name] = False
            else:
                self._count_usage(route, response.usage)
                if route.circuit.success():
                    self._closed(route)
                results[route.spec.name] = True
        return results

    # --- public API --------------------------------------------------------------------------------

    def usage(self) -> dict[str, accounting.RouteUsage]:
        """Per-route totals since start: answers, failed calls, tokens and cost."""
        return {r.spec.name: r.tally.snapshot() for r in self._routes}

    def circuit_state(self, route: str) -> circuit.State:
        return next(r.circuit.state(self._clock()) for r in self._routes if r.spec.name == route)

    def offers(self, capability: str) -> bool:
        """Whether a configured route serves `capability`: a chat route's tag, or `stt`/`tts`."""
        return capability in self._offered

    async def complete(self, request: ChatRequest) -> ChatResponse:
        plan = self._plan(request)
        if request.tools:
            bare = request.model_copy(update={"tools": ()})

            def ask(route: RouteState) -> Awaitable[ChatResponse]:
                return route.model.complete(request if route.tools else bare)
        else:

            def ask(route: RouteState) -> Awaitable[ChatResponse]:
                return route.model.complete(request)

        failures: list[errors.ProviderError] = []
        response: ChatResponse | None = await self._first(plan, ask, _usage_of, failures)
        if response is None:
            raise self._no_route(request, failures)
        return response

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        """The text spoken in `audio`, from the routes tagged `stt`."""
        return await self._speech(
            "stt", lambda route: _served(route.transcriber).transcribe(audio, mime_type)
        )

    async def speak(self, text: str, voice: str) -> tuple[bytes, str]:
        """(`text` read aloud, its MIME type), from the routes tagged `tts`."""
        return await self._speech("tts", lambda route: _served(route.synthesizer).speak(text, voice))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        failures: list[errors.ProviderError] = []
        bare = request.model_copy(update={"tools": ()}) if request.tools else request
        for route in self._plan(request):
            attempt = 0
            while True:
                if not route.circuit.allow(self._clock()):
                    break
                started = self._clock()
                chunks = route.model.stream(request if route.tools else bare)
                yielded = False
                try:
                    async with asyncio.timeout(route.timeout):
                        first = await anext(chunks, None)
                    if first is not None:
                        yielded = True
                        self._count_stream_usage(route, first)
                        yield first
                        async for chunk in chunks:
                            self._count_stream_usage(route, chunk)
                            yield chunk
                except (asyncio.CancelledError, GeneratorExit):
                    # The caller went away: an answer already flowing counts as a healthy route.
                    if yielded:
                        self._succeeded(route, None, started)
                    else:
                        route.circuit.release()
                    raise
                except Exception as exc:
                    failure = self._failed(route, exc, started)
                    if yielded:
                        raise failure from None  # the user saw part of this answer: no silent switch
                    failures.append(failure)
                    attempt += 1
                    if not await self._should_retry(route, failure, attempt):
                        break
                else:
                    self._succeeded(route, None, started)
                    return
                finally:
                    aclose = getattr(chunks, "aclose", None)
                    if aclose is not None:
                        await aclose()
        raise self._no_route(request, failures)

    # --- internals -------------------------------------------------------------------------------

    async def _first(
        self,
        plan: list[RouteState],
        call: Callable[[RouteState], Awaitable[T]],
        usage: Callable[[T], Usage | None],
        failures: list[errors.ProviderError],
    ) -> T | None:
        """The first answer `call` gets from the routes of `plan`, each with its timeout, retries and
        circuit; None when every one failed (their failures appended to `failures`)."""
        for route in plan:
            attempt = 0
            while True:
                if not route.circuit.allow(self._clock()):
                    break
                started = self._clock()
                try:
                    async with asyncio.timeout(route.timeout):
                        answer = await call(route)
                except asyncio.CancelledError:
                    route.circuit.release()
                    raise
                except Exception as exc:
                    failure = self._failed(route, exc, started)
                    failures.append(failure)
                    attempt += 1
                    if not await self._should_retry(route, failure, attempt):
                        break
                else:
                    self._succeeded(route, usage(answer), started)
                    return answer
        return None

    async def _speech(self, capability: str, call: Callable[[RouteState], Awaitable[T]]) -> T:
        """The first answer `call` gets from the routes tagged `capability` (`stt` or `tts`)."""
        failures: list[errors.ProviderError] = []
        answer = await self._first(self._speech_plan(capability), call, _no_usage, failures)
        if answer is None:
            raise self._no_speech_route(capability, failures)
        return answer

    def _plan(self, request: ChatRequest) -> list[RouteState]:
        """Chat routes able to answer `request`; with tools offered, those tagged `tools` first."""
        needed = request.required_capabilities()
        now = self._clock()

        def eligible(route: RouteState) -> bool:
            return route.chat and needed <= route.capabilities and route.circuit.available(now)

        if not request.tools:
            return selection.attempt_order(self._groups, eligible, self._rng)
        with_tools = selection.attempt_order(self._groups, lambda r: r.tools and eligible(r), self._rng)
        without = selection.attempt_order(self._groups, lambda r: not r.tools and eligible(r), self._rng)
        return with_tools + without

    def _speech_plan(self, capability: str) -> list[RouteState]:
        now = self._clock()
        able = attrgetter("transcriber" if capability == "stt" else "synthesizer")

        def eligible(route: RouteState) -> bool:
            return able(route) is not None and route.circuit.available(now)

        return selection.attempt_order(self._groups, eligible, self._rng)

    def _no_route(self, request: ChatRequest, failures: list[errors.ProviderError]) -> errors.NoRouteError:
        if failures:
            return errors.NoRouteError("every route failed", failures)
        needed = request.required_capabilities()
        if not any(r.chat and needed <= r.capabilities for r in self._routes):
            return errors.NoRouteError(f"no route offers {', '.join(sorted(needed)) or 'chat'}")
        return errors.NoRouteError("every capable route has an open circuit")

    def _no_speech_route(self, capability: str, failures: list[errors.ProviderError]) -> errors.NoRouteError:
        if failures:
            return errors.NoRouteError("every route failed", failures)
        if not self.offers(capability):
            return errors.NoRouteError(f"no route offers {capability}")
        return errors.NoRouteError("every capable route has an open circuit")

    async def _should_retry(self, route: RouteState, failure: errors.ProviderError, attempt: int) -> bool:
        if not failure.retryable or attempt > route.spec.retries:
            return False
        delay = selection.backoff_delay(
            attempt, self._rng, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS
        )
        if failure.retry_after is not None:
            if failure.retry_after > BACKOFF_CAP_SECONDS:
                return False
            delay = max(delay, failure.retry_after)
        await self._sleep(delay)
        return True

    def _succeeded(self, route: RouteState, usage: Usage | None, started: float) -> None:
        route.outcome["ok"].inc()
        route.seconds.observe(self._clock() - started)
        route.tally.requests += 1
        if usage is not None:
            self._count_usage(route, usage)
        if route.circuit.success():
            self._closed(route)

    def _failed(self, route: RouteState, exc: BaseException, started: float) -> errors.ProviderError:
        failure = _as_provider_error(route.spec.name, exc)
        if isinstance(failure, errors.ProviderTimeout):
            outcome = "timeout"
        else:
            outcome = "error" if failure.retryable else "rejected"
        route.outcome[outcome].inc()
        route.seconds.observe(self._clock() - started)
        route.tally.failures += 1
        if not failure.counts_against_route:
            route.circuit.release()
        elif route.circuit.failure(self._clock()):
            self._opened(route, failure)
        log.info("llm route failed", extra={"route": route.spec.name, "error": str(failure)})
        return failure

    def _count_stream_usage(self, route: RouteState, chunk: StreamChunk) -> None:
        if chunk.usage is not None:
            self._count_usage(route, chunk.usage)

    def _count_usage(self, route: RouteState, usage: Usage) -> None:
        cost = accounting.cost_of(usage, route.spec.pricing)
        route.tally.add_usage(usage, cost)
        if usage.prompt_tokens:
            route.prompt_tokens.inc(usage.prompt_tokens)
        if usage.completion_tokens:
            route.completion_tokens.inc(usage.completion_tokens)
        if cost:
            route.cost.inc(cost)

    def _opened(self, route: RouteState, failure: errors.ProviderError) -> None:
        route.up.set(0)
        log.warning(
            "llm route circuit opened",
            extra={"route": route.spec.name, "failures": route.circuit.failures, "error": str(failure)},
        )

    def _closed(self, route: RouteState) -> None:
        route.up.set(1)
        log.info("llm route circuit closed", extra={"route": route.spec.name})


def build_router(
    models: Models,
    secrets: Secrets,
    http: httpx.AsyncClient,
    metrics: Metrics,
    *,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Router:
    """A Router over `models.routes`; keys come from `secrets`, every provider shares `http`."""
    breaker = models.circuit_breaker
    cooldown = parse_duration(breaker.cooldown)
    routes = [
        RouteState(
            spec=spec,
            model=providers.create_provider(spec, secrets.get(spec.api_key), http),
            circuit=circuit.Circuit(breaker.failure_threshold, cooldown),
            metrics=metrics,
        )
        for spec in models.routes
    ]
    return Router(
        routes,
        clock=clock,
        rng=rng or random.Random(),
        sleep=sleep,
        probe_interval=parse_duration(models.health_check.interval),
    )
