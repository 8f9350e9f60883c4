"""The gray-release state machine as a table: (status, spec, annotations, analysis verdict, clock) →
(next status, what to render, annotations to drop, conditions, events)."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from parley_operator import release
from parley_operator.policies import canary, revisions
from parley_operator.policies.analysis import Counters, Verdict
from parley_operator.policies.canary_record import Record
from parley_operator.release import Release
from parley_runtime.config.models import Canary
from unit.operator.operator_factories import make_chatbot

T0 = "2026-11-21T10:00:00Z"
STEPS = [{"setWeight": 10}, {"pause": {"duration": "10m"}}, {"setWeight": 50}, {"pause": {}}]
PROMOTE = {"parley.dev/promote": "true"}
ABORT = {"parley.dev/abort": "true"}


def at(minutes: float) -> str:
    whole = int(minutes * 60)
    return f"2026-11-21T{10 + whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}Z"


def spec(version: str = "1.5.0", steps: list[dict[str, Any]] | None = None, **analysis: Any) -> Canary:
    return Canary.model_validate({"version": version, "steps": steps or STEPS, "analysis": analysis})


def record(**fields: Any) -> dict[str, Any]:
    """status.canary as the operator writes it; keyword arguments replace fields."""
    out: dict[str, Any] = {
        "version": "1.5.0",
        "baseVersion": "1.4.0",
        "weight": 10,
        "step": 1,
        "phase": "Progressing",
        "startedAt": T0,
        "stepStartedAt": T0,
        "message": "",
        "analysis": {"failures": 0, "since": T0},
    }
    out.update(fields)
    return out


def verdict(result: str, message: str = "figures") -> canary.Reading:
    return canary.Reading(Verdict(result, message), Counters(100, 1), Counters(900, 2))  # type: ignore[arg-type]


@dataclass
class Row:
    status: dict[str, Any] | None
    canary: Canary | None
    now: str
    annotations: dict[str, str] = field(default_factory=dict)
    reading: canary.Reading | None = None
    spec_version: str = "1.4.0"


@dataclass
class Expect:
    phase: str | None  # None: no status.canary at all
    step: int | None = None
    weight: int = 0
    render_canary: bool = False
    stable: str = "1.4.0"
    removed: tuple[str, ...] = ()
    stalled: str | None = None
    progressing: str | None = None
    events: tuple[str, ...] | None = None  # reasons, in order; None: not checked


TABLE: dict[str, tuple[Row, Expect]] = {
    "a new canary takes its setWeight step at once": (
        Row(None, spec(), T0),
        Expect("Progressing", 1, 10, True, progressing="CanaryProgressing",
               events=("CanaryStarted", "CanaryWeight")),
    ),
    "inside a timed pause nothing moves": (
        Row(record(analysis={"since": T0, "verdict": "Pass"}), spec(), at(5)),
        Expect("Progressing", 1, 10, True, progressing="CanaryProgressing", events=()),
    ),
    "a timed pause over with a passing window advances to the next pause": (
        Row(record(analysis={"since": at(9), "verdict": "Pass"}), spec(), at(10)),
        Expect("Paused", 3, 50, True, progressing="CanaryPaused", events=("CanaryWeight", "Paused")),
    ),
    "a timed pause over but the last window inconclusive waits (never promote on no data)": (
        Row(record(analysis={"since": at(9), "verdict": "Inconclusive"}), spec(), at(11)),
        Expect("Inconclusive", 1, 10, True, progressing="CanaryInconclusive", events=("Inconclusive",)),
    ),
    "an inconclusive phase that stays inconclusive says so once": (
        Row(record(phase="Inconclusive", analysis={"since": at(9), "verdict": "Inconclusive"}), spec(),
            at(12)),
        Expect("Inconclusive", 1, 10, True, progressing="CanaryInconclusive", events=()),
    ),
    "an inconclusive reading at the end of the steps holds the promotion": (
        Row(record(step=1, weight=20), spec(steps=[{"setWeight": 20}]), at(1),
            reading=verdict("Inconclusive")),
        Expect("Inconclusive", 1, 20, True, progressing="CanaryInconclusive"),
    ),
    "a passing window after an inconclusive one moves on": (
        Row(record(phase="Inconclusive", analysis={"since": T0, "verdict": "Inconclusive"}), spec(), at(10),
            reading=verdict("Pass")),
        Expect("Paused", 3, 50, True),
    ),
    "a timed pause with no analysis yet waits": (
        Row(record(), spec(), at(30)),
        Expect("Progressing", 1, 10, True),
    ),
    "the passing reading of this very tick ends the pause": (
        Row(record(), spec(), at(10), reading=verdict("Pass")),
        Expect("Paused", 3, 50, True),
    ),
    "an indefinite pause waits for the annotation": (
        Row(record(step=3, weight=50, phase="Paused"), spec(), at(60)),
        Expect("Paused", 3, 50, True, progressing="CanaryPaused", events=()),
    ),
    "promote at the last (indefinite) pause promotes and drops the annotation": (
        Row(record(step=3, weight=50, phase="Paused"), spec(), at(60), PROMOTE),
        Expect("Promoted", 4, 0, False, "1.5.0", ("parley.dev/promote",), events=("Promoted",)),
    ),
    "promote during a timed pause ends it by hand": (
        Row(record(), spec(), at(1), PROMOTE),
        Expect("Paused", 3, 50, True, removed=("parley.dev/promote",)),
    ),
    "one failed window with failureLimit 1 rolls back at once": (
        Row(record(), spec(), at(1), reading=verdict("Fail", "error rate 0.3 > 0.05")),
        Expect("RolledBack", 1, 0, False, stalled="AnalysisFailed", events=("AnalysisFailed",)),
    ),
    "a failed window under failureLimit counts and goes on": (
        Row(record(), spec(failureLimit=2), at(1), reading=verdict("Fail")),
        Expect("Progressing", 1, 10, True),
    ),
    "failureLimit consecutive failures roll back": (
        Row(record(analysis={"since": T0, "failures": 1, "verdict": "Fail"}), spec(failureLimit=2), at(1),
            reading=verdict("Fail")),
        Expect("RolledBack", 1, 0, False, stalled="AnalysisFailed"),
    ),
    "a failed window while paused still rolls back": (
        Row(record(step=3, weight=50, phase="Paused"), spec(), at(60), reading=verdict("Fail")),
        Expect("RolledBack", 3, 0, False, stalled="AnalysisFailed"),
    ),
    "abort by annotation": (
        Row(record(), spec(), at(2), ABORT),
        Expect("Aborted", 1, 0, False, removed=("parley.dev/abort",), stalled="Aborted",
               events=("Aborted",)),
    ),
    "a rolled-back canary stays rolled back": (
        Row(record(phase="RolledBack", weight=0, message="analysis failed once"), spec(), at(90)),
        Expect("RolledBack", 1, 0, False, stalled="AnalysisFailed", events=()),
    ),
    "a new canary version after a rollback starts over": (
        Row(record(phase="RolledBack", weight=0), spec("1.5.1"), at(90)),
        Expect("Progressing", 1, 10, True, events=("CanaryStarted", "CanaryWeight")),
    ),
    "a new canary version mid-way starts over": (
        Row(record(step=3, weight=50, phase="Paused"), spec("1.5.1"), at(30)),
        Expect("Progressing", 1, 10, True),
    ),
    "removing spec.canary mid-way drops the record and the canary": (
        Row(record(), None, at(3)),
        Expect(None, events=("CanaryRemoved",)),
    ),
    "promoted: the stable track runs the canary version while git still says the old one": (
        Row(record(phase="Promoted", step=4, weight=0), spec(), at(70)),
        Expect("Promoted", 4, 0, False, "1.5.0", events=()),
    ),
    "promoted and spec.canary removed, spec.version not yet updated: still promoted": (
        Row(record(phase="Promoted", step=4, weight=0), None, at(70)),
        Expect("Promoted", 4, 0, False, "1.5.0"),
    ),
    "promoted and git caught up: the record is cleared": (
        Row(record(phase="Promoted", step=4, weight=0), None, at(70), spec_version="1.5.0"),
        Expect(None, stable="1.5.0", events=()),
    ),
    "promoted, then a next canary before spec.version is updated: it waits": (
        Row(record(phase="Promoted", step=4, weight=0), spec("1.6.0"), at(70)),
        Expect("Promoted", 4, 0, False, "1.5.0"),
    ),
    "promoted, git caught up, and a next canary: it starts": (
        Row(record(phase="Promoted", step=4, weight=0), spec("1.6.0"), at(70), spec_version="1.5.0"),
        Expect("Progressing", 1, 10, True, "1.5.0"),
    ),
    "all steps done without a passing window: promotion waits": (
        Row(None, spec(steps=[{"setWeight": 20}]), T0),
        Expect("Progressing", 1, 20, True),
    ),
    "all steps done and the window passed: promoted": (
        Row(record(step=1, weight=20), spec(steps=[{"setWeight": 20}]), at(1), reading=verdict("Pass")),
        Expect("Promoted", 1, 0, False, "1.5.0"),
    ),
    "a timed pause at weight 0 needs no analysis": (
        Row(record(step=1, weight=0, analysis={}),
            spec(steps=[{"setWeight": 0}, {"pause": {"duration": "1m"}}, {"setWeight": 5}]), at(1)),
        Expect("Progressing", 3, 5, True),
    ),
    "promote with nothing to promote is just removed": (
        Row(record(phase="RolledBack", weight=0), spec(), at(5), PROMOTE),
        Expect("RolledBack", 1, 0, False, removed=("parley.dev/promote",), stalled="AnalysisFailed"),
    ),
    "an annotation that is not 'true' is left alone": (
        Row(record(step=3, weight=50, phase="Paused"), spec(), at(60), {"parley.dev/promote": "later"}),
        Expect("Paused", 3, 50, True),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(TABLE))
def test_table(name: str) -> None:
    row, expect = TABLE[name]
    inputs = canary.Inputs(
        spec_version=row.spec_version,
        canary=row.canary,
        record=Record.from_dict(row.status),
        now=row.now,
        annotations=row.annotations,
        reading=row.reading,
    )
    d = canary.decide(inputs)
    if expect.phase is None:
        assert d.record is None
    else:
        assert d.record is not None
        assert (d.record.phase, d.record.step, d.record.weight) == (expect.phase, expect.step, expect.weight)
    assert (d.weight, d.render_canary, d.stable_version) == (
        expect.weight,
        expect.render_canary,
        expect.stable,
    )
    assert d.remove_annotations == expect.removed
    assert (d.stalled[0] if d.stalled else None) == expect.stalled
    if expect.progressing is not None:
        assert d.progressing is not None and d.progressing[0] == expect.progressing
    if expect.events is not None:
        assert tuple(e.reason for e in d.events) == expect.events


def decide(status: dict[str, Any] | None, now: str, **kwargs: Any) -> canary.Decision:
    return canary.decide(canary.Inputs("1.4.0", spec(), Record.from_dict(status), now, **kwargs))


def test_the_record_round_trips_through_status_so_a_restart_resumes_at_the_same_step() -> None:
    first = decide(None, T0)
    assert first.record is not None
    stored = first.record.to_dict()
    # A new operator process reads the same status a minute later: same step, same weight, no events.
    again = decide(stored, at(1))
    assert again.record is not None and again.record.to_dict() == stored
    assert again.events == ()


def test_rollback_message_carries_the_measured_figures() -> None:
    d = decide(record(), at(1), reading=verdict("Fail", "error rate 0.31 > 0.05 (canary ...)"))
    assert d.stalled is not None
    assert d.stalled == ("AnalysisFailed", "analysis failed once: error rate 0.31 > 0.05 (canary ...)")


def test_a_reading_moves_the_window_and_keeps_the_counters_for_the_next_one() -> None:
    d = decide(record(), at(1), reading=verdict("Inconclusive", "3 canary messages"))
    assert d.record is not None
    state = d.record.analysis
    assert (state.since, state.verdict, state.failures) == (at(1), "Inconclusive", 0)
    assert state.baseline_canary == Counters(100, 1)
    stored = Record.from_dict(d.record.to_dict())
    assert stored is not None and stored.analysis.baseline_stable == Counters(900, 2)


def test_a_pass_resets_the_failure_count() -> None:
    d = canary.decide(
        canary.Inputs(
            "1.4.0",
            spec(failureLimit=3),
            Record.from_dict(record(analysis={"since": T0, "failures": 2})),
            at(1),
            reading=verdict("Pass"),
        )
    )
    assert d.record is not None and d.record.analysis.failures == 0


@pytest.mark.parametrize(
    ("status", "now", "due"),
    [
        (record(), at(0.5), False),  # the window is younger than the 1m interval
        (record(), at(1), True),
        (record(weight=0), at(5), False),  # no traffic, nothing to measure
        (record(phase="RolledBack"), at(5), False),
        (record(phase="Paused", step=3, weight=50), at(5), True),  # analysis goes on while paused
        (record(version="1.4.9"), at(5), False),  # a record of another canary
    ],
)
def test_analysis_is_due_every_interval_while_there_is_traffic(
    status: dict[str, Any], now: str, due: bool
) -> None:
    assert canary.analysis_due(spec(), Record.from_dict(status), now) is due


def test_ticks_stop_once_the_release_is_over() -> None:
    body = {"canary": {"version": "1.5.0", "steps": STEPS}}
    assert canary.needs_ticks(body, {})
    assert canary.needs_ticks(body, {"canary": record()})
    assert not canary.needs_ticks(body, {"canary": record(phase="Promoted")})
    assert canary.needs_ticks(
        {"canary": {"version": "1.6.0", "steps": STEPS}}, {"canary": record(phase="Promoted")}
    )
    assert canary.needs_ticks(
        {"canary": {"persona": {"systemPrompt": "x"}, "steps": STEPS}}, {"canary": record()}
    )
    assert not canary.needs_ticks({"canary": {"steps": STEPS}}, {})  # changes nothing: the spec is refused
    assert not canary.needs_ticks({}, {"canary": record()})


@pytest.mark.parametrize(
    "broken",
    [{"version": "1.5.0"}, record(phase="Sideways"), record(weight=130), record(step=-1), "text"],
)
def test_a_status_that_does_not_parse_reads_as_no_record(broken: Any) -> None:
    assert Record.from_dict(broken) is None


# --- config canaries: identity, promotion of the config, the hold, revisions -----------------------

P1, P2 = {"systemPrompt": "v1"}, {"systemPrompt": "v2"}


def stable_config(persona: dict[str, Any]) -> dict[str, Any]:
    return release.config_of(make_chatbot(persona=persona).spec)


def prompt_canary(persona: dict[str, Any] = P2, steps: list[dict[str, Any]] | None = None) -> Canary:
    return Canary.model_validate({"persona": persona, "steps": steps or STEPS})


def config_inputs(
    status: dict[str, Any] | None,
    canary_: Canary | None,
    *,
    persona: dict[str, Any] = P1,
    history: revisions.History = (),
    now: str = T0,
    **kwargs: Any,
) -> canary.Inputs:
    return canary.Inputs(
        "1.4.0",
        canary_,
        Record.from_dict(status),
        now,
        config=stable_config(persona),
        history=history,
        **kwargs,
    )


def promoted(persona: dict[str, Any] = P2, base: dict[str, Any] = P1) -> dict[str, Any]:
    """status.canary after a prompt canary was promoted over `base`."""
    return record(
        version="1.4.0",
        phase="Promoted",
        step=2,
        weight=0,
        overlayHash=release.overlay_hash(prompt_canary(persona)),
        baseConfigHash=Release("1.4.0", stable_config(base)).config_hash,
        overlay={"persona": persona},
    )


def test_a_changed_overlay_starts_the_release_over_like_a_new_version() -> None:
    first = canary.decide(config_inputs(None, prompt_canary()))
    assert first.record is not None and first.record.version == "1.4.0"
    assert first.record.overlay_hash == release.overlay_hash(prompt_canary())
    assert first.render_canary and [e.reason for e in first.events] == ["CanaryStarted", "CanaryWeight"]
    assert first.stable is not None and first.stable.config["persona"] == P1  # stable keeps its prompt
    same = canary.decide(config_inputs(first.record.to_dict(), prompt_canary(), now=at(1)))
    assert same.events == () and same.record == first.record
    other = canary.decide(config_inputs(first.record.to_dict(), prompt_canary({"systemPrompt": "v3"})))
    assert other.record is not None and other.record.overlay_hash != first.record.overlay_hash
    assert [e.reason for e in other.events] == ["CanaryStarted", "CanaryWeight"]


def test_a_promoted_prompt_runs_on_the_stable_track_with_its_overlay_kept() -> None:
    walking = record(
        version="1.4.0", step=3, weight=50, overlayHash=release.overlay_hash(prompt_canary()), phase="Paused"
    )
    d = canary.decide(config_inputs(walking, prompt_canary(), annotations=PROMOTE, now=at(30)))
    assert d.record is not None and d.record.phase == "Promoted"
    assert d.record.overlay == {"persona": P2}
    assert d.record.base_config_hash == Release("1.4.0", stable_config(P1)).config_hash
    assert d.stable is not None and d.stable.config["persona"] == P2 and d.stable_version == "1.4.0"
    assert d.cause == f"canary {d.record.overlay_hash} promoted (parley.dev/promote=true)"
    assert [e.message for e in d.events] == [f"promoted persona {d.record.overlay_hash} after 4 steps"]


def test_the_promoted_config_holds_until_the_spec_says_anything_else() -> None:
    held = canary.decide(config_inputs(promoted(), prompt_canary(), now=at(90)))
    assert held.record is not None and held.record.phase == "Promoted"
    assert held.stable is not None and held.stable.config["persona"] == P2
    gone = canary.decide(config_inputs(promoted(), None, now=at(90)))  # canary removed, spec still v1
    assert gone.record is not None and gone.stable is not None and gone.stable.config["persona"] == P2
    caught_up = canary.decide(config_inputs(promoted(), None, persona=P2, now=at(90)))
    assert caught_up.record is None and caught_up.events == ()
    assert caught_up.stable is not None and caught_up.stable.config["persona"] == P2
    moved_on = canary.decide(config_inputs(promoted(), None, persona={"systemPrompt": "v9"}))
    assert moved_on.record is None and moved_on.stable is not None
    assert moved_on.stable.config["persona"] == {"systemPrompt": "v9"}


def test_git_caught_up_but_kept_the_canary_it_changes_nothing() -> None:
    d = canary.decide(config_inputs(promoted(), prompt_canary(), persona=P2, now=at(90)))
    assert (d.record, d.render_canary, d.events) == (None, False, ())
    # ... and it needs no timer: nothing in it moves with time.
    raw = {"canary": {"persona": P2, "steps": STEPS}}
    assert not canary.needs_ticks(raw, {"history": revisions.to_status(history_of(P1, P2))})
    assert canary.needs_ticks(raw, {"history": revisions.to_status(history_of(P2, P1))})


def history_of(*prompts: dict[str, Any]) -> revisions.History:
    h: revisions.History = ()
    for i, persona in enumerate(prompts):
        h = revisions.record(h, Release("1.4.0", stable_config(persona)), now=at(i))
    return h


def test_a_canary_back_to_an_earlier_revision_is_promoted_at_once() -> None:
    h = history_of(P2, P1)  # v2 ran as revision 1, v1 runs now as revision 2
    d = canary.decide(config_inputs(None, prompt_canary(P2), history=h))
    assert d.record is not None and (d.record.phase, d.record.weight) == ("Promoted", 0)
    assert d.record.message == "revision 1 again: promoted without steps"
    assert not d.render_canary and d.weight == 0
    assert d.stable is not None and d.stable.config["persona"] == P2
    assert d.cause == "revert to revision 1"
    assert [e.reason for e in d.events] == ["Promoted"]
    # The next round is the promotion holding, not a restart.
    again = canary.decide(config_inputs(d.record.to_dict(), prompt_canary(P2), history=h, now=at(1)))
    assert again.record == d.record and again.events == ()


def test_the_rollback_mark_ends_a_promotion_that_waits_for_git() -> None:
    h = history_of(P1, P2)  # v2 promoted as revision 2; the spec still says v1 (revision 1)
    mark = {"parley.dev/rollback-to": "1"}
    d = canary.decide(config_inputs(promoted(), None, history=h, annotations=mark))
    assert d.record is None and d.stable is not None and d.stable.config["persona"] == P1
    assert d.cause == "rollback to revision 1" and d.remove_annotations == ("parley.dev/rollback-to",)
    assert [e.reason for e in d.events] == ["Rollback"]
    # A mark that does not match the spec is dropped and changes nothing.
    wrong = canary.decide(
        config_inputs(promoted(), None, history=h, annotations={"parley.dev/rollback-to": "2"})
    )
    assert wrong.record is not None and wrong.stable is not None and wrong.stable.config["persona"] == P2
    assert wrong.remove_annotations == ("parley.dev/rollback-to",) and wrong.cause is None


def test_records_written_before_config_canaries_still_resume() -> None:
    legacy = record()  # no overlayHash: named by its version
    d = canary.decide(canary.Inputs("1.4.0", spec(), Record.from_dict(legacy), at(5)))
    assert d.events == () and d.record is not None and d.record.step == 1
    held = record(phase="Promoted", step=4, weight=0)  # no overlay: the version alone is promoted
    d = canary.decide(config_inputs(held, None, now=at(70)))
    assert d.stable_version == "1.5.0" and d.stable is not None and d.stable.config["persona"] == P1


def test_the_record_keeps_the_chat_to_tell_and_drops_one_that_does_not_read() -> None:
    notify = {"bindingRef": {"name": "helpdesk-telegram"}, "chatId": "-100123"}
    told = Canary.model_validate({"version": "1.5.0", "steps": STEPS, "notify": notify})
    d = canary.decide(canary.Inputs("1.4.0", told, None, T0))
    assert d.record is not None and d.record.to_dict()["notify"] == notify
    stored = Record.from_dict(d.record.to_dict())
    assert stored is not None and stored.notify == told.notify
    # Once spec.canary is gone, the record still names the chat (a rollback is told there).
    after = canary.decide(canary.Inputs("1.4.0", None, stored, at(1)))
    assert after.record is None or after.record.notify == told.notify
    assert Record.from_dict({**record(), "notify": {"chatId": 5}}).notify is None  # type: ignore[union-attr]
