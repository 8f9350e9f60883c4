"""One ChatBot round, decided: what the bot should be, then what to write to get there.

A round is gather → decide → act (`handlers.reconcile`). What to gather depends on one decision: the
live objects to read are the objects the bot should own. So deciding is two pure steps, each run once
per round on values read once, the first handed to the second rather than redone:

1. `desire`, from the ChatBot, its bindings, the key names of their Secrets and (when an analysis
   window was due) the engines' metrics: where the gray release goes next, whether each binding is
   ready, and the rendered objects. The reconcile then reads the live versions of exactly these.
2. `decide`, from the `Observed` (with those live objects) and the desire: the objects to create,
   patch and delete, the annotations to drop, and the status of the bot and of each binding — one
   `Plan`, which `act` carries out through `k8s.apply`.

Rule: like the `render` and `policies` functions it composes, no I/O, no kopf, no Kubernetes client,
no clock (`now` is passed in). It sits above both because it uses both (they must not import each
other).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from parley_operator import conditions, release, render
from parley_operator.observed import BindingView, BotView, Observed, Ref, binding_ref, bot_ref
from parley_operator.policies import canary as canary_policy
from parley_operator.policies import children, references, revisions, status
from parley_operator.policies.analysis import Sample
from parley_operator.release import Release
from parley_operator.render.meta import Names
from parley_runtime.config.models import Analysis, ChatBot


@dataclass(frozen=True)
class Desired:
    """What the bot should be this round; empty when its spec does not parse."""

    # The gray release's next step. Its Events and weight count even when the render fails.
    canary: canary_policy.Decision | None = None
    readiness: tuple[status.Readiness, ...] = ()  # of each binding, in the order given
    objects: tuple[Mapping[str, Any], ...] = ()
    problem: str | None = None  # why a spec that parses does not render: it stalls as InvalidSpec
    # `status.history` after this round: a revision appended when the stable track's release changed.
    history: revisions.History = ()

    @property
    def renders(self) -> bool:
        """Whether there is anything to apply: the spec parses and renders."""
        return self.canary is not None and self.problem is None

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(Ref.of(obj) for obj in self.objects)


@dataclass(frozen=True)
class StatusChange:
    """One status write (`patch` None: nothing changed, nothing to write) and the Ready it leaves."""

    patch: Mapping[str, Any] | None
    ready: bool
    reason: str
    message: str


@dataclass(frozen=True)
class BindingChange(StatusChange):
    """A binding's status write; `announce` when its Ready reason changes (an Event, once written)."""

    ref: Ref
    announce: bool


@dataclass(frozen=True)
class Plan:
    """Everything one round writes, in the order `act` writes it: objects, annotations, status."""

    bot: Ref
    objects: children.Plan
    # Asks a person set once (`parley.dev/promote`, `…/abort`) and the gray release has now answered.
    remove_annotations: tuple[str, ...]
    status: StatusChange  # the bot's status when the API accepts every write
    # The bot's status when it refuses one (Ready=False, ApplyFailed, the error as message): the one
    # thing only acting can tell. Everything else in it is as decided here.
    refused: Callable[[str], StatusChange] = field(compare=False, repr=False)
    bindings: tuple[BindingChange, ...] = ()
    canary: canary_policy.Decision | None = None  # for the weight gauge and the Events


PAUSED_ANNOTATION = "parley.dev/paused"


def paused(body: Mapping[str, Any]) -> bool:
    """A person (or a pipeline) asked the operator to keep its hands off this bot for now."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(PAUSED_ANNOTATION, "")).strip().lower() == "true"


def unanswered_ask(body: Mapping[str, Any]) -> bool:
    """An annotation asks for something the status does not show done yet: a pause or a resume,
    a promotion or an abort of the gray release."""
    status_ = body.get("status") or {}
    shows_paused = conditions.find(status_.get("conditions"), conditions.PAUSED) is not None
    if paused(body) != shows_paused:
        return True
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return any(k in annotations for k in canary_policy.ASKS)


def decide_paused(view: BotView, now: str) -> Plan:
    """A paused bot's round: no object, annotation or binding is written; its status keeps every
    condition as it was and adds `ReconciliationPaused=True` (dropped again on resume)."""
    bot = bot_ref(view.namespace, view.name)
    previous = [c for c in view.status.get("conditions") or () if isinstance(c, Mapping)]
    kept = [
        conditions.Condition(
            str(c.get("type")),
            c.get("status", "Unknown"),
            str(c.get("reason", "")),
            str(c.get("message", "")),
        )
        for c in previous
        if c.get("type") != conditions.PAUSED
    ]
    note = f"annotation {PAUSED_ANNOTATION}: nothing is written until it is removed"
    wanted = [*kept, conditions.Condition(conditions.PAUSED, "True", "Paused", note)]
    new = {"conditions": conditions.merge(previous, wanted, now=now, generation=view.generation)}
    ready = conditions.find(previous, conditions.READY) or {}
    change = StatusChange(
        status.status_patch(view.status, new, ("conditions",)),
        ready.get("status") == "True",
        "Paused",
        note,
    )
    return Plan(bot, children.Plan(), (), change, lambda _error: change)


# What to read: pure answers the gather step asks before it reads.


def secret_names(view: BotView, bindings: Sequence[BindingView]) -> list[str]:
    """The Secrets whose key names the round needs: the spec's (its canary's included) and those of
    a promoted config the stable track runs until git says the same."""
    usable = [b.binding for b in bindings if b.binding is not None]
    names = set(references.secret_names(view.bot, usable))
    record = canary_policy.Record.from_dict(view.status.get("canary"))
    if view.bot is not None and record is not None and record.overlay:
        promoted = record.promoted_over(Release.of(view.bot.spec)).apply_to(view.bot)
        names.update(references.secret_names(promoted, usable))
    return sorted(names)


def due_analysis(view: BotView, now: str) -> Analysis | None:
    """How to read the engines' metrics when an analysis window of the gray release is due; else None."""
    spec_canary = view.bot.spec.canary if view.bot is not None else None
    record = canary_policy.Record.from_dict(view.status.get("canary"))
    if spec_canary is None or not canary_policy.analysis_due(spec_canary, record, now):
        return None
    return spec_canary.analysis


# Step 1: what the bot should be.


def desire(
    view: BotView,
    bindings: Sequence[BindingView],
    keys: references.SecretKeys,
    sample: Sample | None,
    now: str,
    *,
    image: str | None = None,
    digests: Mapping[str, str] | None = None,
) -> Desired:
    """`sample`: the engines' metrics, read because `due_analysis` said a window was due; `digests`:
    the data hashes of the Secrets read, which roll the pods that mount one when it rotates."""
    bot = view.bot
    if bot is None:
        return Desired()
    history = revisions.read(view.status.get("history"))
    decision = _canary_step(bot, view, sample, now, history)
    history = revisions.record(
        history, decision.stable or Release.of(bot.spec), now=now, cause=decision.cause
    )
    readiness = tuple(status.binding_ready(b, keys) for b in bindings)
    usable = [b.binding for b, r in zip(bindings, readiness, strict=True) if r[0] and b.binding is not None]
    try:
        objects = render.render_bot(
            _as_rendered(bot, decision),
            usable,
            namespace=view.namespace,
            image=image,
            canary_weight=decision.weight,
            owner=render.OwnerRef.of(bot),
            stable_version=decision.stable_version,
            secret_digests=digests,
        )
    except render.RenderError as e:
        return Desired(decision, readiness, problem=str(e), history=history)
    return Desired(decision, readiness, tuple(objects), history=history)


def _canary_step(
    bot: ChatBot, view: BotView, sample: Sample | None, now: str, history: revisions.History
) -> canary_policy.Decision:
    spec_canary = bot.spec.canary
    record = canary_policy.Record.from_dict(view.status.get("canary"))
    reading = None
    if sample is not None and spec_canary is not None and record is not None:
        reading = canary_policy.read(record, sample, spec_canary)
    inputs = canary_policy.Inputs(
        spec_version=bot.spec.version,
        canary=spec_canary,
        record=record,
        now=now,
        annotations=bot.metadata.annotations,
        reading=reading,
        config=release.config_of(bot.spec),
        history=history,
    )
    return canary_policy.decide(inputs)


def _as_rendered(bot: ChatBot, decision: canary_policy.Decision) -> ChatBot:
    """The bot as render should see it: running the stable release the gray release decided (a
    promoted config until git says the same), and without its canary once the release is over
    (promoted, rolled back or aborted), so the canary's objects are deleted while spec.canary stays
    in git."""
    canary = bot.spec.canary if decision.render_canary else None
    stable = decision.stable
    if stable is not None and not stable.same_as(Release.of(bot.spec)):
        return stable.apply_to(bot, canary=canary)
    if canary is bot.spec.canary:
        return bot
    return bot.model_copy(update={"spec": bot.spec.model_copy(update={"canary": canary})})


# Step 2: what to write.


def decide(observed: Observed, desired: Desired, now: str) -> Plan:
    """`observed.children` holds the live versions of `desired.refs` (all None: create without
    reading); `observed.stale`, what the bot owns that it should not."""
    view = observed.bot
    bot = bot_ref(view.namespace, view.name)
    bot_status = partial(_bot_status, observed, desired, now)
    decision = desired.canary
    if decision is None or desired.problem is not None:
        # The spec does not parse or render: nothing is applied, no binding is judged.
        return Plan(bot, children.Plan(), (), bot_status(None), bot_status, canary=decision)
    return Plan(
        bot,
        children.plan(desired.objects, observed, token_secret=Names(view.name).internal_secret),
        decision.remove_annotations,
        bot_status(None),
        bot_status,
        bindings=tuple(
            binding_change(view.namespace, b, r, now)
            for b, r in zip(observed.bindings, desired.readiness, strict=True)
        ),
        canary=decision,
    )


def _bot_status(observed: Observed, desired: Desired, now: str, apply_error: str | None) -> StatusChange:
    decision = desired.canary if desired.renders else None
    wanted = status.bot_conditions(
        observed,
        apply_error=apply_error,
        canary=decision,
        ready=desired.readiness,
        problem=desired.problem,
    )
    new = status.bot_status(observed, wanted, now=now, canary=decision, problem=desired.problem)
    if desired.history and desired.problem is None:
        new["history"] = revisions.to_status(desired.history)
    ready = wanted[0]
    patch = status.status_patch(observed.bot.status, new, status.BOT_KEYS)
    return StatusChange(patch, ready.status == "True", ready.reason, ready.message)


def binding_change(namespace: str, view: BindingView, readiness: status.Readiness, now: str) -> BindingChange:
    """The status write of one binding, whether its bot's round judged it or no bot exists for it."""
    ok, reason, message = readiness
    new = status.binding_status(view, ok, reason, message, now=now)
    before = conditions.find(view.status.get("conditions"), conditions.READY)
    return BindingChange(
        status.status_patch(view.status, new, status.BINDING_KEYS),
        ok,
        reason,
        message,
        binding_ref(namespace, view.name),
        announce=before is None or before.get("reason") != reason,
    )
