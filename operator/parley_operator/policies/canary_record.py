"""`status.canary` as a typed value: everything a gray release needs to resume after a restart.

Why all of it lives in status: the operator keeps no memory between reconciles. The step, when it
started, the last analysis verdict, the consecutive failures and the counters the next window is
measured from are all here, so a new operator process continues exactly where the last one stopped.
A status that does not parse (edited by hand, older format) reads as no record: the canary starts over.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from parley_operator.policies.analysis import Counters

# The record's times are stamps in the operator's one format (re-exported for callers of the record).
from parley_operator.policies.timestamps import seconds as seconds
from parley_operator.policies.timestamps import stamp as stamp

Phase = Literal["Progressing", "Paused", "Promoted", "RolledBack", "Aborted"]
ACTIVE: tuple[Phase, ...] = ("Progressing", "Paused")
FINISHED: tuple[Phase, ...] = ("Promoted", "RolledBack", "Aborted")
_PHASES = (*ACTIVE, *FINISHED)


@dataclass(frozen=True)
class AnalysisState:
    """The analysis so far: when the current window began, the last verdict and its figures, how many
    windows failed in a row, and the counters the current window is measured from."""

    since: str | None = None
    verdict: str | None = None
    message: str = ""
    failures: int = 0
    figures: Mapping[str, Any] = field(default_factory=dict)
    baseline_canary: Counters | None = None
    baseline_stable: Counters | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"failures": self.failures}
        if self.since is not None:
            out["since"] = self.since
        if self.verdict is not None:
            out["verdict"] = self.verdict
            out["message"] = self.message
        out.update(self.figures)
        baseline = {
            name: counters.to_dict()
            for name, counters in (("canary", self.baseline_canary), ("stable", self.baseline_stable))
            if counters is not None
        }
        if baseline:
            out["baseline"] = baseline
        return out

    @classmethod
    def from_dict(cls, data: Any) -> "AnalysisState":
        if not isinstance(data, Mapping):
            return cls()
        found = data.get("baseline")
        baseline: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        failures = data.get("failures")
        return cls(
            since=_text(data.get("since")),
            verdict=_text(data.get("verdict")),
            message=str(data.get("message") or ""),
            failures=failures if isinstance(failures, int) and failures >= 0 else 0,
            figures={k: data[k] for k in ("canary", "stable") if isinstance(data.get(k), Mapping)},
            baseline_canary=Counters.from_dict(baseline.get("canary")),
            baseline_stable=Counters.from_dict(baseline.get("stable")),
        )


@dataclass(frozen=True)
class Record:
    """One gray release of `version`: `step` is the index of the step being carried out (the number of
    steps once they are all done); `base_version` is spec.version when it started, the version a
    promotion overrides until git catches up."""

    version: str
    base_version: str
    weight: int
    step: int
    phase: Phase
    started_at: str
    step_started_at: str
    message: str = ""
    analysis: AnalysisState = AnalysisState()

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    def but(self, **changes: Any) -> "Record":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "baseVersion": self.base_version,
            "weight": self.weight,
            "step": self.step,
            "phase": self.phase,
            "startedAt": self.started_at,
            "stepStartedAt": self.step_started_at,
            "message": self.message,
            "analysis": self.analysis.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> "Record | None":
        if not isinstance(data, Mapping):
            return None
        version, base = _text(data.get("version")), _text(data.get("baseVersion"))
        weight, step, phase = data.get("weight"), data.get("step"), data.get("phase")
        started, step_started = _text(data.get("startedAt")), _text(data.get("stepStartedAt"))
        if (
            version is None
            or base is None
            or not isinstance(weight, int)
            or not 0 <= weight <= 100
            or not isinstance(step, int)
            or step < 0
            or phase not in _PHASES
            or started is None
        ):
            return None
        return cls(
            version=version,
            base_version=base,
            weight=weight,
            step=step,
            phase=cast(Phase, phase),
            started_at=started,
            step_started_at=step_started or started,
            message=str(data.get("message") or ""),
            analysis=AnalysisState.from_dict(data.get("analysis")),
        )


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int | float) and value != "" else None
