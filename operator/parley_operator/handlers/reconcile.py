"""One ChatBot reconcile: gather → decide → act, the same for create, update, resume, timer,
binding changes and drift.

Level-based and idempotent: it reads the current state, renders what should exist, writes only the
difference and patches status once. Reconciles of one bot never overlap (a lock per bot); the
nudges from watch events coalesce, so a burst of events costs at most one extra run.

Gather reads each input once into one `Observed`; the decisions are `parley_operator.decide`'s (pure,
each made once); act writes the resulting `Plan` through `k8s.apply`.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import httpx

from parley_operator import conditions, decide
from parley_operator.handlers.inventory import BotKey, Inventory, SecretUsers
from parley_operator.k8s import apply, errors, gather, metrics_source
from parley_operator.k8s.client import KubeClient
from parley_operator.metrics import OperatorMetrics
from parley_operator.notify import Notifier
from parley_operator.observed import BotView, Observed, Ref
from parley_operator.policies import canary, parse, timestamps
from parley_operator.policies.analysis import Sample
from parley_operator.render import plugin_packages

log = logging.getLogger("parley.operator")

BindingsOf = Callable[[], Iterable[Mapping[str, Any]]]


def utc_now() -> str:
    return timestamps.stamp(time.time())


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
        if not self.found or self.reason in ("InvalidSpec", "SecretMissing", "PluginInstallFailed"):
            return "stalled"
        return "changed" if self.applied.changed else "ok"


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
        notifier: Notifier | None = None,
    ) -> None:
        """`now` is the wall clock of status and of the gray release's steps; `clock` only times
        reconciles; `scrape` gives the plain HTTP client that reads engine metrics (never the API's)."""
        self._client = client
        self._metrics = metrics
        self.inventory = inventory
        self.secret_users = SecretUsers()
        self._image = image
        self._concurrency = concurrency
        self._now = now
        self._clock = clock
        self._scrape = scrape
        self.notifier = notifier or Notifier()
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
                self.secret_users.forget(namespace, name)
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
        if decide.paused(body):  # read nothing more, write nothing but the condition that says so
            return await self._act(client, body, decide.decide_paused(parse.bot_view(body, namespace), now))
        observed, desired = await self._gather(client, body, namespace, binding_bodies, now)
        plan = decide.decide(observed, desired, now)
        outcome = await self._act(client, body, plan)
        if outcome.canary_events:  # told once the status holds the decision, so never told twice
            outcome.canary_events += await self.notifier.tell(client, observed, outcome.canary_events)
        return outcome

    async def _gather(
        self,
        client: KubeClient,
        body: Mapping[str, Any],
        namespace: str,
        binding_bodies: Sequence[Mapping[str, Any]],
        now: str,
    ) -> tuple[Observed, decide.Desired]:
        """Read what the round decides from, each thing once. The live objects to read are the ones
        the bot should own, so what it should be is decided (`decide.desire`) before that last read,
        and handed on with what was read."""
        view = parse.bot_view(body, namespace)
        bindings = tuple(parse.binding_view(b) for b in binding_bodies)
        if view.bot is None:  # nothing more is worth reading until the spec parses
            return Observed(view, bindings), decide.Desired()
        sample = await self._sample(client, view, now)
        secret_names = decide.secret_names(view, bindings)
        self.secret_users.note(namespace, view.name, secret_names)
        keys, digests = await gather.read_secrets(client, namespace, secret_names)
        desired = decide.desire(view, bindings, keys, sample, now, image=self._image, digests=digests)
        if not desired.renders:
            return Observed(view, bindings, keys), desired
        live, stale = await self._children(client, view, desired.refs)
        # Whether pip could install the plugin packages shows only in the engine pods' init containers.
        installs = plugin_packages.installs(desired.objects)
        pods = await gather.read_engine_pods(client, namespace, view.name) if installs else ()
        return Observed(view, bindings, keys, live, stale, pods), desired

    async def _children(
        self, client: KubeClient, view: BotView, refs: Sequence[Ref]
    ) -> tuple[Mapping[Ref, Mapping[str, Any] | None], tuple[Ref, ...]]:
        """The live versions of the objects the bot should own, and what it owns but should not."""
        owned = self.inventory.owned(view.namespace, view.name, view.uid)
        if "observedGeneration" not in view.status and not owned:
            # Never reconciled and nothing of it seen: create without reading first. A create that
            # finds the object (409) reads and patches it instead, so this stays correct.
            live: Mapping[Ref, Mapping[str, Any] | None] = dict.fromkeys(refs)
        else:
            live = await gather.read_objects(client, refs)
        return live, tuple(sorted(owned - set(refs)))

    async def _sample(self, client: KubeClient, view: BotView, now: str) -> Sample | None:
        """The engines' metrics, read only when an analysis window of the gray release is due."""
        analysis = decide.due_analysis(view, now)
        if analysis is None:
            return None
        if self._scrape is None:
            self._scrape = _default_scrape()
        return await metrics_source.read_sample(client, self._scrape(), view.namespace, view.name, analysis)

    async def _act(self, client: KubeClient, body: Mapping[str, Any], plan: decide.Plan) -> Outcome:
        """Write the plan: the objects, then the annotations, then the bot's status once, then each
        binding's. An API error of the objects is raised at the end, after the status says so."""
        previous = conditions.find((body.get("status") or {}).get("conditions"), conditions.READY)
        outcome = Outcome(
            found=True, body=body, previous_reason=str(previous["reason"]) if previous else None
        )
        if plan.canary is not None:
            outcome.canary_events = plan.canary.events
            weight = plan.canary.weight if plan.canary.render_canary else None
            self._metrics.set_canary_weight(plan.bot.namespace, plan.bot.name, weight)
        apply_error: errors.ApiError | None = None
        try:
            outcome.applied = await apply.apply_plan(client, plan.objects, on_write=self.inventory.written)
        except errors.ApiError as e:
            apply_error = e
        if plan.remove_annotations:
            # Before the status write: if that fails, the request is lost and a person asks again;
            # the other order could let an old `promote` skip a later pause.
            await apply.remove_annotations(client, plan.bot, plan.remove_annotations)
        status = plan.status if apply_error is None else plan.refused(str(apply_error))
        outcome.ready, outcome.reason, outcome.message = status.ready, status.reason, status.message
        await apply.patch_status(client, plan.bot, status.patch)
        for change in plan.bindings:
            if await apply.patch_status(client, change.ref, change.patch) and change.announce:
                outcome.binding_changes.append(
                    (_event_target(change.ref), change.ready, change.reason, change.message)
                )
        if apply_error is not None:
            raise apply_error
        return outcome


def _event_target(ref: Ref) -> dict[str, Any]:
    """The least body kopf needs to post an Event about an object."""
    return {
        "apiVersion": ref.api_version,
        "kind": ref.kind,
        "metadata": {"name": ref.name, "namespace": ref.namespace},
    }


def _default_scrape() -> Callable[[], httpx.AsyncClient]:
    """One plain client for metrics, made on first use (it binds to the running loop)."""
    made: list[httpx.AsyncClient] = []

    def get() -> httpx.AsyncClient:
        if not made:
            made.append(httpx.AsyncClient(timeout=metrics_source.TIMEOUT))
        return made[0]

    return get
