"""Where a gray release stands, and what to do next: a pure state machine over `status.canary`.

`decide(Inputs) -> Decision` takes the spec (its stable release and its canary), the record in
status, the revisions in `status.history`, the annotations, the time and (when one was due) the
analysis reading, and returns the next record, what the stable track runs, and what to render and
say. A canary is named by what it changes (`release.overlay_hash`): a new version, prompt, model or
plugin list starts it over. Rules, in the order they apply:

1. Promotion holds until git catches up: after a promotion the stable track runs the canary's release
   (version and config) while the spec's stable release is still the one it replaced; once the spec
   says anything else the record goes. `parley.dev/rollback-to=N` (written by `parley rollback`
   together with revision N in the spec) ends the hold when the spec is revision N.
2. A canary whose release (the stable one with the canary laid over) is an earlier revision in
   `status.history` — a git revert — is promoted at once, without steps.
3. A new canary starts over (step 0, weight 0). Removing spec.canary drops the record.
4. A due analysis reading is counted first: `failureLimit` failed windows in a row roll back.
5. `parley.dev/abort=true` aborts an active canary (and is removed).
6. Steps: setWeight applies and advances at once; a timed pause ends once its duration is over AND
   the last analysis window passed (weight 0 needs none); an indefinite pause waits (phase Paused).
   `parley.dev/promote=true` ends the current pause, or promotes when only the analysis gate holds
   the last step back, and is removed. After the last step the canary is promoted — never on no data:
   the last analysis window must have passed, unless a person promoted by hand. While the last window
   was inconclusive the phase says so (`Inconclusive`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pydantic

from parley_operator import release
from parley_operator.policies import analysis, revisions
from parley_operator.policies.analysis import Counters, Sample, Verdict
from parley_operator.policies.canary_record import AnalysisState, Record
from parley_operator.policies.timestamps import seconds
from parley_operator.release import Release
from parley_runtime.config.models import Canary
from parley_runtime.core.durations import parse_duration

PROMOTE_ANNOTATION = "parley.dev/promote"
ABORT_ANNOTATION = "parley.dev/abort"
ROLLBACK_ANNOTATION = "parley.dev/rollback-to"
ASKS = (PROMOTE_ANNOTATION, ABORT_ANNOTATION, ROLLBACK_ANNOTATION)

__all__ = [
    "ABORT_ANNOTATION",
    "ASKS",
    "PROMOTE_ANNOTATION",
    "ROLLBACK_ANNOTATION",
    "Decision",
    "Event",
    "Inputs",
    "Reading",
    "Record",
    "analysis_due",
    "decide",
    "needs_ticks",
    "read",
]


@dataclass(frozen=True)
class Reading:
    """One analysis window: the verdict, and the counters the next window starts from."""

    verdict: Verdict
    canary: Counters | None = None
    stable: Counters | None = None


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Inputs:
    spec_version: str
    canary: Canary | None
    record: Record | None
    now: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    reading: Reading | None = None
    # The spec's stable config (`release.config_of(spec)`) and `status.history`.
    config: Mapping[str, Any] = field(default_factory=dict)
    history: revisions.History = ()

    @property
    def stable(self) -> Release:
        return Release(self.spec_version, self.config)


@dataclass(frozen=True)
class Decision:
    record: Record | None  # what status.canary becomes (None: absent)
    stable_version: str  # what the stable Deployment and the route file run
    weight: int = 0  # the route file's canaryWeight
    render_canary: bool = False  # whether the canary Deployment, HPA, PDB and Service exist
    remove_annotations: tuple[str, ...] = ()
    stalled: tuple[str, str] | None = None  # (reason, message) → Stalled=True
    progressing: tuple[str, str] | None = None  # (reason, message) → Reconciling=True
    events: tuple[Event, ...] = ()
    # What the stable track runs (its version is `stable_version`); None: the spec's stable release.
    stable: Release | None = None
    # Why the stable track changed in this round, for its revision (a promotion, a rollback).
    cause: str | None = None


def _flag(annotations: Mapping[str, str], key: str) -> bool:
    return annotations.get(key, "").strip().lower() == "true"


def analysis_due(spec_canary: Canary | None, record: Record | None, now: str) -> bool:
    """Whether the reconcile at `now` should read metrics: an active canary with traffic whose window
    is at least one `interval` old."""
    if spec_canary is None or record is None or not record.active or not record.is_of(spec_canary):
        return False
    if record.weight <= 0:
        return False
    since, at = seconds(record.analysis.since), seconds(now)
    if since is None or at is None:
        return True
    return at - since >= analysis.interval_seconds(spec_canary.analysis)


def read(record: Record, sample: Sample, spec_canary: Canary) -> Reading:
    """The verdict on the window that ends with `sample`, measured from the record's baselines."""
    state = record.analysis
    limits = analysis.Thresholds.of(spec_canary.analysis)
    verdict = analysis.evaluate(sample, state.baseline_canary, state.baseline_stable, limits)
    return Reading(verdict, sample.canary, sample.stable)


def needs_ticks(spec: Mapping[str, object], status: Mapping[str, object]) -> bool:
    """Whether a ChatBot (raw body parts) has a gray release that time alone can move on."""
    raw = spec.get("canary")
    if not isinstance(raw, Mapping):
        return False
    try:
        canary = Canary.model_validate(raw)
    except pydantic.ValidationError:
        return False  # the reconcile stalls the bot on its spec: nothing moves with time
    record = Record.from_dict(status.get("canary"))
    if record is None:
        # Unless it changes nothing the stable track runs (the current revision): that waits for no one.
        history = revisions.read(status.get("history"))
        current = history[-1].release if history else None
        return current is None or not current.over(release.overlay_of(canary)).same_as(current)
    return not record.is_of(canary) or record.active


def _rollback_to(annotations: Mapping[str, str]) -> int | None:
    value = annotations.get(ROLLBACK_ANNOTATION, "").strip()
    return int(value) if value.isdigit() else None


def decide(inp: Inputs) -> Decision:
    """The next state (rules above); the record keeps `spec.canary.notify` as last seen."""
    decision = _decide(inp)
    notify = inp.canary.notify if inp.canary is not None else None
    if decision.record is None or notify is None:
        return decision
    return replace(decision, record=decision.record.but(notify=notify))


def _decide(inp: Inputs) -> Decision:
    record = inp.record
    spec_stable = inp.stable
    cleanup = tuple(k for k in (PROMOTE_ANNOTATION, ABORT_ANNOTATION) if _flag(inp.annotations, k))
    cleanup += (ROLLBACK_ANNOTATION,) if ROLLBACK_ANNOTATION in inp.annotations else ()
    events: list[Event] = []
    cause = None
    hold = record is not None and record.holds_over(spec_stable)
    asked = _rollback_to(inp.annotations)
    back = revisions.find(inp.history, asked) if asked is not None else None
    if back is not None and back.matches(spec_stable):
        cause = f"rollback to revision {back.revision}"
    if hold and record is not None and cause is not None:
        hold = False
        events.append(
            Event(
                "Normal", "Rollback", f"promotion of {record.version} undone: {cause} ({ROLLBACK_ANNOTATION})"
            )
        )
    if record is not None and record.phase == "Promoted" and not hold:
        record = None  # git caught up with the promotion (or moved on): the record has done its job
    stable = record.promoted_over(spec_stable) if hold and record is not None else spec_stable
    spec = inp.canary

    if spec is None:
        if hold:
            return Decision(record, stable.version, remove_annotations=cleanup, stable=stable)
        if record is not None:
            events.append(Event("Normal", "CanaryRemoved", f"canary {record.version} removed"))
        return _with(Decision(None, stable.version, remove_annotations=cleanup, stable=stable), events, cause)

    if record is None or not record.is_of(spec):
        # Laid over the spec's stable release, as a promotion of it will be (the same as `stable`
        # unless an earlier promotion still holds).
        target = spec_stable.over(release.overlay_of(spec))
        if target.same_as(stable):
            # It changes nothing the stable track does not run already (git caught up and kept the
            # canary): there is nothing to release.
            kept = record if hold else None
            return _with(
                Decision(kept, stable.version, remove_annotations=cleanup, stable=stable), events, cause
            )
        again = revisions.earlier(inp.history, target)
        if again is not None:
            return _with(_revert(inp, spec, spec_stable, target, again, cleanup), events)
        if hold and record is not None:
            message = f"canary {_name(spec)} waits: promoted {record.version} is not yet the spec in git"
            return Decision(
                record.but(message=message), stable.version, remove_annotations=cleanup, stable=stable
            )
        record = Record(
            target.version,
            stable.version,
            0,
            0,
            "Progressing",
            inp.now,
            inp.now,
            overlay_hash=release.overlay_hash(spec),
            base_config_hash=stable.config_hash,
        )
        return _with(_walk(inp, spec, record, stable, started=True), events, cause)

    if not record.active:
        return _with(_finished(record, stable, cleanup), events, cause)
    return _with(_walk(inp, spec, record, stable, started=False), events, cause)


def _name(spec: Canary) -> str:
    """How Events and messages name a canary: its version, or what it changes and its hash."""
    if spec.version is not None and spec.changes == ("version",):
        return spec.version
    return f"{'+'.join(spec.changes)} {release.overlay_hash(spec)}"


def _revert(
    inp: Inputs,
    spec: Canary,
    stable: Release,
    target: Release,
    again: revisions.Revision,
    cleanup: tuple[str, ...],
) -> Decision:
    """A canary whose release ran before (a git revert): promoted at once, no steps, no analysis."""
    message = f"revision {again.revision} again: promoted without steps"
    record = Record(
        target.version,
        stable.version,
        0,
        len(spec.steps),
        "Promoted",
        inp.now,
        inp.now,
        message,
        overlay_hash=release.overlay_hash(spec),
        base_config_hash=stable.config_hash,
        overlay=release.overlay_of(spec),
    )
    event = Event("Normal", "Promoted", f"canary {_name(spec)}: {message}")
    return Decision(
        record,
        target.version,
        remove_annotations=cleanup,
        events=(event,),
        stable=target,
        cause=f"revert to revision {again.revision}",
    )


def _finished(record: Record, stable: Release, cleanup: tuple[str, ...]) -> Decision:
    stalled = None
    if record.phase == "RolledBack":
        stalled = ("AnalysisFailed", record.message)
    elif record.phase == "Aborted":
        stalled = ("Aborted", record.message)
    return Decision(record, stable.version, remove_annotations=cleanup, stalled=stalled, stable=stable)


def _count(record: Record, reading: Reading, now: str) -> AnalysisState:
    state = record.analysis
    verdict = reading.verdict
    failures = state.failures + 1 if verdict.result == "Fail" else 0 if verdict.result == "Pass" else None
    return AnalysisState(
        since=now,
        verdict=verdict.result,
        message=verdict.message,
        failures=state.failures if failures is None else failures,
        figures=verdict.figures() or state.figures,
        baseline_canary=reading.canary or state.baseline_canary,
        baseline_stable=reading.stable or state.baseline_stable,
    )


def _walk(inp: Inputs, spec: Canary, before: Record, stable: Release, *, started: bool) -> Decision:
    record = before
    events: list[Event] = []
    name = _name(spec)
    if started:
        events.append(Event("Normal", "CanaryStarted", f"canary {name} started"))
    removed: list[str] = []

    if inp.reading is not None:
        record = record.but(analysis=_count(record, inp.reading, inp.now))
        limit = spec.analysis.failure_limit
        if record.analysis.failures >= limit:
            times = "once" if limit == 1 else f"{record.analysis.failures} times in a row"
            message = f"analysis failed {times}: {inp.reading.verdict.message}"
            record = record.but(phase="RolledBack", weight=0, message=message)
            events.append(Event("Warning", "AnalysisFailed", f"canary {name} rolled back: {message}"))
            decision = _finished(record, stable, _present(inp, ABORT_ANNOTATION, PROMOTE_ANNOTATION))
            return _with(decision, events)

    if _flag(inp.annotations, ABORT_ANNOTATION):
        message = f"aborted at step {record.step} by {ABORT_ANNOTATION}=true"
        record = record.but(phase="Aborted", weight=0, message=message)
        events.append(Event("Warning", "Aborted", f"canary {name} {message}"))
        decision = _finished(record, stable, _present(inp, ABORT_ANNOTATION, PROMOTE_ANNOTATION))
        return _with(decision, events)

    promote = _flag(inp.annotations, PROMOTE_ANNOTATION)
    by_hand = False
    now = seconds(inp.now)
    while True:
        if record.step >= len(spec.steps):
            if by_hand or promote or record.analysis.verdict == "Pass":
                if promote and not by_hand:
                    removed.append(PROMOTE_ANNOTATION)
                message = f"promoted {name} after {len(spec.steps)} steps"
                how = f"{PROMOTE_ANNOTATION}=true" if by_hand or promote else "analysis passed"
                target = stable.over(release.overlay_of(spec))
                record = record.but(
                    phase="Promoted",
                    weight=0,
                    message=message,
                    version=target.version,
                    base_version=stable.version,
                    base_config_hash=stable.config_hash,
                    overlay=release.overlay_of(spec),
                )
                events.append(Event("Normal", "Promoted", message))
                cause = f"canary {release.overlay_hash(spec)} promoted ({how})"
                decision = Decision(
                    record, target.version, remove_annotations=tuple(removed), stable=target, cause=cause
                )
                return _with(decision, events)
            record = record.but(
                phase="Progressing",
                message="all steps done; promotion waits for an analysis window to pass"
                + _last(record.analysis),
            )
            break
        step = spec.steps[record.step]
        if step.set_weight is not None:
            if step.set_weight != record.weight:
                events.append(Event("Normal", "CanaryWeight", f"canary {name} at {step.set_weight}%"))
            state = record.analysis
            if step.set_weight > 0 and state.since is None:
                state = AnalysisState(since=inp.now)
            record = record.but(weight=step.set_weight, step=record.step + 1, step_started_at=inp.now)
            record = record.but(analysis=state)
            continue
        assert step.pause is not None
        if promote and not by_hand:
            removed.append(PROMOTE_ANNOTATION)
            by_hand = True
            record = record.but(step=record.step + 1, step_started_at=inp.now)
            continue
        if step.pause.duration is None:
            if record.phase != "Paused":
                events.append(Event("Normal", "Paused", f"canary {name} waits for {PROMOTE_ANNOTATION}"))
            record = record.but(
                phase="Paused",
                message=f"paused at {record.weight}%: set the annotation {PROMOTE_ANNOTATION}=true to go on",
            )
            break
        length = parse_duration(step.pause.duration)
        begun = seconds(record.step_started_at)
        over = now is None or begun is None or now - begun >= length
        if over and (by_hand or record.weight == 0 or record.analysis.verdict == "Pass"):
            record = record.but(step=record.step + 1, step_started_at=inp.now)
            continue
        if over:
            message = f"pause over at {record.weight}%; waiting for an analysis window to pass"
            message += _last(record.analysis)
        else:
            message = f"pausing {step.pause.duration} at {record.weight}%, step {record.step + 1}"
            message += f" of {len(spec.steps)}"
        record = record.but(phase="Progressing", message=message)
        break

    if record.phase == "Progressing" and record.weight > 0 and record.analysis.verdict == "Inconclusive":
        # Too few messages (or no metrics) in the last window: the step is held on no data.
        if before.phase != "Inconclusive":
            events.append(Event("Normal", "Inconclusive", f"canary {name}: {record.analysis.message}"))
        record = record.but(phase="Inconclusive")
    reason = {"Paused": "CanaryPaused", "Inconclusive": "CanaryInconclusive"}.get(
        record.phase, "CanaryProgressing"
    )
    decision = Decision(
        record,
        stable.version,
        weight=record.weight,
        render_canary=True,
        remove_annotations=tuple(removed),
        progressing=(reason, f"canary {name}: {record.message}"),
        stable=stable,
    )
    return _with(decision, events)


def _present(inp: Inputs, *keys: str) -> tuple[str, ...]:
    return tuple(k for k in keys if _flag(inp.annotations, k))


def _last(state: AnalysisState) -> str:
    if state.verdict is None:
        return " (none yet)"
    return f" (last: {state.verdict}, {state.message})"


def _with(decision: Decision, events: list[Event], cause: str | None = None) -> Decision:
    """`decision` after `events`; `cause`, why the stable track changed, unless it says why itself."""
    return replace(decision, events=tuple(events) + decision.events, cause=decision.cause or cause)
