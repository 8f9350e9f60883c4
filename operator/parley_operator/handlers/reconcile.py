"""One ChatBot reconcile: gather → decide → act, the same for create, update, resume, timer,
binding changes and drift.

Level-based and idempotent: it reads the current state, renders what should exist, writes only the
difference and patches status once. Reconciles of one bot never overlap (a lock per bot); the
nudges from watch events coalesce, so a burst of events costs at most one extra run.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import httpx

from parley_operator import conditions, render
from parley_operator.handlers.inventory import BotKey, Inventory
from parley_operator.k8s import apply, errors, gather, metrics_source
from parley_operator.k8s.client import KubeClient
from parley_operator.metrics import OperatorMetrics
from parley_operator.observed import BindingView, BotView, Observed, Ref
from parley_operator.policies import canary, children, parse, references, status
from parley_operator.policies.canary_record import Record
from parley_operator.render.meta import Names
from parley_runtime.config.models import ChatBot

log = logging.getLogger("parley.operator")

BindingsOf = Callable[[], Iterable[Mapping[str, Any]]]


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Outcome:
    """What a reconcile did, for the handler to turn into k8s Events and metrics."""

    found: bool
    body: Mapping[str, Any] | None = None
    ready: bool = False
    reason: str = ""
    message: str = ""
    previous_reason: str | None = None
    applied: apply.Applied = field(default_factory=apply.Applied)
    binding_changes: list[tuple[Mapping[str, Any], bool, str, str]] = field(default_factory=list)
    canary_events: tuple[canary.Event, ...] = ()

    @property
    def outcome(self) -> str:
        if not self.found or self.reason in ("InvalidSpec", "SecretMissing"):
            return "stalled"
        return "changed" if self.applied.changed else "ok"


def binding_view(body: Mapping[str, Any]) -> BindingView:
    model, problem = parse.parse_binding(body)
    meta = body.get("metadata") or {}
    return BindingView(
        str(meta.get("name")), meta.get("generation"), body.get("status") or {}, model, problem
    )


def rendered_bot(bot: ChatBot, decision: canary.Decision) -> ChatBot:
    """The bot as render should see it: without its canary once the release is over (promoted,
    rolled back or aborted), so the canary's objects are deleted while spec.canary stays in git."""
    if decision.render_canary or bot.spec.canary is None:
        return bot
    return bot.model_copy(update={"spec": bot.spec.model_copy(update={"canary": None})})


def bot_view(body: Mapping[str, Any], namespace: str) -> BotView:
    model, problem = parse.parse_bot(body)
    meta = body.get("metadata") or {}
    return BotView(
        namespace,
        str(meta.get("name")),
        meta.get("uid"),
        meta.get("generation"),
        body.get("status") or {},
        model,
        problem,
    )


class Reconciler:
    def __init__(
        self,
        client: Callable[[], KubeClient],
        metrics: OperatorMetrics,
        inventory: Inventory,
        *,
        image: str | None = None,
        concurrency: int = 16,
        now: Callable[[], str] = utc_now,
        clock: Callable[[], float] = time.monotonic,
        scrape: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        """`now` is the wall clock of status and of the gray release's steps; `clock` only times
        reconciles; `scrape` gives the plain HTTP client that reads engine metrics (never the API's)."""
        self._client = client
        self._metrics = metrics
        self.inventory = inventory
        self._image = image
        self._concurrency = concurrency
        self._now = now
        self._clock = clock
        self._scrape = scrape
        self._locks: dict[BotKey, asyncio.Lock] = {}
        self._pending: dict[BotKey, list[Callable[[], bool]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._background_slots: asyncio.Semaphore | None = None

    def _lock(self, key: BotKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    @overload
    async def reconcile(
        self,
        namespace: str,
        name: str,
        bindings: Iterable[Mapping[str, Any]],
        *,
        background: Literal[False] = ...,
    ) -> Outcome: ...

    @overload
    async def reconcile(
        self, namespace: str, name: str, bindings: Iterable[Mapping[str, Any]], *, background: bool
    ) -> Outcome | None: ...

    async def reconcile(
        self, namespace: str, name: str, bindings: Iterable[Mapping[str, Any]], *, background: bool = False
    ) -> Outcome | None:
        """Reconcile now (waiting for a running reconcile of the same bot); API errors propagate.

        `background` (the resync) returns None at once if the bot is being reconciled anyway, and
        takes one of few background slots first, so that it never holds up event-driven work."""
        if self._slots is None or self._background_slots is None:
            self._slots = asyncio.Semaphore(self._concurrency)
            self._background_slots = asyncio.Semaphore(max(1, self._concurrency // 8))
        lock = self._lock((namespace, name))
        if background:
            if lock.locked():
                return None
            async with self._background_slots:
                return await self._locked(lock, namespace, name, bindings)
        return await self._locked(lock, namespace, name, bindings)

    async def _locked(
        self, lock: asyncio.Lock, namespace: str, name: str, bindings: Iterable[Mapping[str, Any]]
    ) -> Outcome:
        assert self._slots is not None
        async with lock, self._slots:
            start = self._clock()
            try:
                result = await self._reconcile(namespace, name, list(bindings))
            except Exception:
                self._metrics.observe("ChatBot", "error", self._clock() - start)
                raise
            self._metrics.observe("ChatBot", result.outcome, self._clock() - start)
            if not result.found:
                self._locks.pop((namespace, name), None)
                self.inventory.forget(namespace, name)
                self._metrics.set_canary_weight(namespace, name, None)
            return result

    def nudge(
        self,
        namespace: str,
        name: str,
        bindings: BindingsOf,
        report: Callable[[Outcome], None],
        needed: Callable[[], bool] = lambda: True,
    ) -> None:
        """Schedule a reconcile; nudges that arrive while one waits join it. When its turn comes, it
        runs only if some nudge is still `needed` (an event may turn out to be our own write's echo).
        Errors are logged, not raised: the resync timer retries."""
        key = (namespace, name)
        if key in self._pending:
            self._pending[key].append(needed)
            return
        self._pending[key] = [needed]

        async def run() -> None:
            async with self._lock(key):
                checks = self._pending.pop(key, [])
            if not any(check() for check in checks):
                return
            try:
                result = await self.reconcile(namespace, name, bindings())
            except errors.ApiError as e:
                log.warning("reconcile of ChatBot %s/%s failed: %s", namespace, name, e)
                return
            except Exception:  # a bug: keep the traceback, keep the operator running
                log.exception("reconcile of ChatBot %s/%s crashed", namespace, name)
                return
            report(result)

        task = asyncio.create_task(run(), name=f"reconcile {namespace}/{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reconcile(
        self, namespace: str, name: str, binding_bodies: Sequence[Mapping[str, Any]]
    ) -> Outcome:
        client = self._client()
        now = self._now()
        body = await gather.read_bot(client, namespace, name)
        if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
            return Outcome(found=False, body=body)
        view = bot_view(body, namespace)
        bindings = tuple(binding_view(b) for b in binding_bodies)
        previous = conditions.find(view.status.get("conditions"), conditions.READY)
        outcome = Outcome(
            found=True, body=body, previous_reason=str(previous["reason"]) if previous else None
        )
        observed = Observed(view, bindings)
        desired: list[dict[str, Any]] = []
        decision: canary.Decision | None = None
        if view.bot is not None:
            decision = await self._decide_canary(client, view.bot, view, now)
            outcome.canary_events = decision.events
            self._metrics.set_canary_weight(
                namespace, name, decision.weight if decision.render_canary else None
            )
            valid = [b.binding for b in bindings if b.binding is not None]
            keys = await gather.read_secret_keys(client, namespace, references.secret_names(view.bot, valid))
            observed = Observed(view, bindings, keys)
            usable = [
                b.binding for b in bindings if b.binding is not None and status.binding_ready(b, keys)[0]
            ]
            try:
                desired = render.render_bot(
                    rendered_bot(view.bot, decision),
                    usable,
                    namespace=namespace,
                    image=self._image,
                    canary_weight=decision.weight,
                    owner=render.OwnerRef.of(view.bot),
                    stable_version=decision.stable_version,
                )
            except render.RenderError as e:
                decision = None
                observed = Observed(
                    BotView(namespace, name, view.uid, view.generation, view.status, None, str(e))
                )
        apply_error: errors.ApiError | None = None
        if observed.bot.bot is not None:
            refs = [Ref.of(obj) for obj in desired]
            owned = self.inventory.owned(namespace, name, view.uid)
            if "observedGeneration" not in view.status and not owned:
                # Never reconciled and nothing of it seen: create without reading first. A create
                # that finds the object (409) reads and patches it instead, so this stays correct.
                live: dict[Ref, dict[str, Any] | None] = dict.fromkeys(refs)
            else:
                live = await gather.read_objects(client, refs)
            stale = tuple(sorted(owned - set(refs)))
            observed = Observed(view, bindings, observed.secret_keys, live, stale)
            plan = children.plan(desired, observed, token_secret=Names(name).internal_secret)
            try:
                outcome.applied = await apply.apply_plan(client, plan, on_write=self.inventory.written)
            except errors.ApiError as e:
                apply_error = e
        if decision is not None and decision.remove_annotations:
            # Before the status write: if that fails, the request is lost and a person asks again;
            # the other order could let an old `promote` skip a later pause.
            await apply.remove_annotations(
                client, gather.bot_ref(namespace, name), decision.remove_annotations
            )
        await self._write_status(client, observed, outcome, apply_error, decision, now)
        if apply_error is not None:
            raise apply_error
        return outcome

    async def _decide_canary(
        self, client: KubeClient, bot: ChatBot, view: BotView, now: str
    ) -> canary.Decision:
        """Where the gray release goes next; reads the engines' metrics only when a window is due."""
        spec_canary = bot.spec.canary
        record = Record.from_dict(view.status.get("canary"))
        reading = None
        if spec_canary is not None and record is not None and canary.analysis_due(spec_canary, record, now):
            if self._scrape is None:
                self._scrape = _default_scrape()
            sample = await metrics_source.read_sample(
                client, self._scrape(), view.namespace, view.name, spec_canary.analysis
            )
            reading = canary.read(record, sample, spec_canary)
        inputs = canary.Inputs(
            spec_version=bot.spec.version,
            canary=spec_canary,
            record=record,
            now=now,
            annotations=bot.metadata.annotations,
            reading=reading,
        )
        return canary.decide(inputs)

    async def _write_status(
        self,
        client: KubeClient,
        observed: Observed,
        outcome: Outcome,
        apply_error: errors.ApiError | None,
        decision: canary.Decision | None,
        now: str,
    ) -> None:
        view = observed.bot
        wanted = status.bot_conditions(
            observed, apply_error=str(apply_error) if apply_error else None, canary=decision
        )
        ready = wanted[0]
        outcome.ready, outcome.reason, outcome.message = ready.status == "True", ready.reason, ready.message
        new = status.bot_status(observed, wanted, now=now, canary=decision)
        patch = status.status_patch(view.status, new, status.BOT_KEYS)
        await apply.patch_status(client, gather.bot_ref(view.namespace, view.name), patch)
        if view.bot is None:
            return
        for b in observed.bindings:
            ok, reason, message = status.binding_ready(b, observed.secret_keys)
            await self.write_binding_status(client, view.namespace, b, ok, reason, message, outcome, now)

    async def write_binding_status(
        self,
        client: KubeClient,
        namespace: str,
        view: BindingView,
        ok: bool,
        reason: str,
        message: str,
        outcome: Outcome | None,
        now: str,
    ) -> None:
        new = status.binding_status(view, ok, reason, message, now=now)
        patch = status.status_patch(view.status, new, status.BINDING_KEYS)
        if await apply.patch_status(client, gather.binding_ref(namespace, view.name), patch) and outcome:
            before = conditions.find(view.status.get("conditions"), conditions.READY)
            if before is None or before.get("reason") != reason:
                body = {"apiVersion": "parley.dev/v1alpha1", "kind": "PlatformBinding", "metadata": {}}
                body["metadata"] = {"name": view.name, "namespace": namespace}
                outcome.binding_changes.append((body, ok, reason, message))


def _default_scrape() -> Callable[[], httpx.AsyncClient]:
    """One plain client for metrics, made on first use (it binds to the running loop)."""
    made: list[httpx.AsyncClient] = []

    def get() -> httpx.AsyncClient:
        if not made:
            made.append(httpx.AsyncClient(timeout=metrics_source.TIMEOUT))
        return made[0]

    return get
