"""Where a gray release stands, and what to do next: a pure state machine over `status.canary`.

`decide(Inputs) -> Decision` takes the spec, the record in status, the annotations, the time and
(when one was due) the analysis reading, and returns the next record plus what to render and say.
Rules, in the order they apply:

1. Promotion holds until git catches up: after a promotion the stable track runs the canary version
   while spec.version is still the version it replaced; once spec.version equals it the record goes.
2. A new spec.canary.version starts over (step 0, weight 0). Removing spec.canary drops the record.
3. A due analysis reading is counted first: `failureLimit` failed windows in a row roll back.
4. `parley.dev/abort=true` aborts an active canary (and is removed).
5. Steps: setWeight applies and advances at once; a timed pause ends once its duration is over AND
   the last analysis window passed (weight 0 needs none); an indefinite pause waits (phase Paused).
   `parley.dev/promote=true` ends the current pause, or promotes when only the analysis gate holds
   the last step back, and is removed. After the last step the canary is promoted — never on no data:
   the last analysis window must have passed, unless a person promoted by hand.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from parley_operator.policies import analysis
from parley_operator.policies.analysis import Counters, Sample, Verdict
from parley_operator.policies.canary_record import ACTIVE, FINISHED, AnalysisState, Record
from parley_operator.policies.timestamps import seconds
from parley_runtime.config.models import Canary
from parley_runtime.core.durations import parse_duration

PROMOTE_ANNOTATION = "parley.dev/promote"
ABORT_ANNOTATION = "parley.dev/abort"

__all__ = [
    "ABORT_ANNOTATION",
    "PROMOTE_ANNOTATION",
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


def _flag(annotations: Mapping[str, str], key: str) -> bool:
    return annotations.get(key, "").strip().lower() == "true"


def analysis_due(spec_canary: Canary | None, record: Record | None, now: str) -> bool:
    """Whether the reconcile at `now` should read metrics: an active canary with traffic whose window
    is at least one `interval` old."""
    if spec_canary is None or record is None or not record.active or record.version != spec_canary.version:
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
    canary = spec.get("canary")
    if not isinstance(canary, Mapping):
        return False
    record = Record.from_dict(status.get("canary"))
    return record is None or record.version != canary.get("version") or record.active


def decide(inp: Inputs) -> Decision:
    record = inp.record
    override = record is not None and record.phase == "Promoted" and inp.spec_version == record.base_version
    if record is not None and record.phase == "Promoted" and not override:
        record = None  # git caught up with the promotion (or moved on): the record has done its job
    stable = record.version if override and record is not None else inp.spec_version
    cleanup = tuple(k for k in (PROMOTE_ANNOTATION, ABORT_ANNOTATION) if _flag(inp.annotations, k))
    spec = inp.canary

    if spec is None:
        if override:
            return Decision(record, stable, remove_annotations=cleanup)
        events = (Event("Normal", "CanaryRemoved", f"canary {record.version} removed"),) if record else ()
        return Decision(None, stable, remove_annotations=cleanup, events=events)

    if record is None or record.version != spec.version:
        if override and record is not None:
            message = f"canary {spec.version} waits: promoted {record.version} is not yet spec.version in git"
            return Decision(record.but(message=message), stable, remove_annotations=cleanup)
        record = Record(spec.version, inp.spec_version, 0, 0, "Progressing", inp.now, inp.now)
        return _walk(inp, spec, record, stable, started=True)

    if not record.active:
        return _finished(record, stable, cleanup)
    return _walk(inp, spec, record, stable, started=False)


def _finished(record: Record, stable: str, cleanup: tuple[str, ...]) -> Decision:
    stalled = None
    if record.phase == "RolledBack":
        stalled = ("AnalysisFailed", record.message)
    elif record.phase == "Aborted":
        stalled = ("Aborted", record.message)
    return Decision(record, stable, remove_annotations=cleanup, stalled=stalled)


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


def _walk(inp: Inputs, spec: Canary, before: Record, stable: str, *, started: bool) -> Decision:
    record = before
    events: list[Event] = []
    if started:
        events.append(Event("Normal", "CanaryStarted", f"canary {spec.version} started"))
    removed: list[str] = []

    if inp.reading is not None:
        record = record.but(analysis=_count(record, inp.reading, inp.now))
        limit = spec.analysis.failure_limit
        if record.analysis.failures >= limit:
            times = "once" if limit == 1 else f"{record.analysis.failures} times in a row"
            message = f"analysis failed {times}: {inp.reading.verdict.message}"
            record = record.but(phase="RolledBack", weight=0, message=message)
            events.append(Event("Warning", "AnalysisFailed", f"canary {spec.version} rolled back: {message}"))
            decision = _finished(record, stable, _present(inp, ABORT_ANNOTATION, PROMOTE_ANNOTATION))
            return _with(decision, events)

    if _flag(inp.annotations, ABORT_ANNOTATION):
        message = f"aborted at step {record.step} by {ABORT_ANNOTATION}=true"
        record = record.but(phase="Aborted", weight=0, message=message)
        events.append(Event("Warning", "Aborted", f"canary {spec.version} {message}"))
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
                message = f"promoted {spec.version} after {len(spec.steps)} steps"
                record = record.but(phase="Promoted", weight=0, message=message)
                events.append(Event("Normal", "Promoted", message))
                return _with(Decision(record, record.version, remove_annotations=tuple(removed)), events)
            record = record.but(
                phase="Progressing",
                message="all steps done; promotion waits for an analysis window to pass"
                + _last(record.analysis),
            )
            break
        step = spec.steps[record.step]
        if step.set_weight is not None:
            if step.set_weight != record.weight:
                events.append(Event("Normal", "CanaryWeight", f"canary {spec.version} at {step.set_weight}%"))
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
                events.append(
                    Event("Normal", "Paused", f"canary {spec.version} waits for {PROMOTE_ANNOTATION}")
                )
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

    reason = "CanaryPaused" if record.phase == "Paused" else "CanaryProgressing"
    decision = Decision(
        record,
        stable,
        weight=record.weight,
        render_canary=True,
        remove_annotations=tuple(removed),
        progressing=(reason, f"canary {spec.version}: {record.message}"),
    )
    return _with(decision, events)


def _present(inp: Inputs, *keys: str) -> tuple[str, ...]:
    return tuple(k for k in keys if _flag(inp.annotations, k))


def _last(state: AnalysisState) -> str:
    if state.verdict is None:
        return " (none yet)"
    return f" (last: {state.verdict}, {state.message})"


def _with(decision: Decision, events: list[Event]) -> Decision:
    return Decision(
        decision.record,
        decision.stable_version,
        decision.weight,
        decision.render_canary,
        decision.remove_annotations,
        decision.stalled,
        decision.progressing,
        tuple(events) + decision.events,
    )


def is_finished(record: Record | None) -> bool:
    return record is not None and record.phase in FINISHED


def is_active(record: Record | None) -> bool:
    return record is not None and record.phase in ACTIVE
