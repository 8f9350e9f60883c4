"""`status.canary` as a typed value: everything a gray release needs to resume after a restart.

Why all of it lives in status: the operator keeps no memory between reconciles. The step, when it
started, the last analysis verdict, the consecutive failures and the counters the next window is
measured from are all here, so a new operator process continues exactly where the last one stopped.
A status that does not parse (edited by hand, older format) reads as no record: the canary starts over.

A record names its canary by `overlayHash` (`release.overlay_hash`: what the canary changes), and
after a promotion keeps the promoted `overlay` and the stable release it replaced (`baseVersion`,
`baseConfigHash`), so the stable track runs the promoted config until git says the same. Records
written before config canaries (no hash) name their canary by version alone.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

import pydantic

from parley_operator import release
from parley_operator.policies.analysis import Counters

# The record's times are stamps in the operator's one format (re-exported for callers of the record).
from parley_operator.policies.timestamps import seconds as seconds
from parley_operator.policies.timestamps import stamp as stamp
from parley_operator.release import Release
from parley_runtime.config.models import Canary, CanaryNotify

Phase = Literal["Progressing", "Inconclusive", "Paused", "Promoted", "RolledBack", "Aborted"]
# Inconclusive: walking, but the last analysis window had too few messages (or no metrics) to judge,
# so a timed pause or the promotion is held until a window passes.
ACTIVE: tuple[Phase, ...] = ("Progressing", "Inconclusive", "Paused")
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
    """One gray release: `version` is what the canary runs (its own or the stable one), `overlay_hash`
    what it changes; `step` is the index of the step being carried out (the number of steps once they
    are all done); `base_version` and `base_config_hash` are the stable release a promotion overrides
    until git catches up, and `overlay` the promoted fields (config and version) that override it."""

    version: str
    base_version: str
    weight: int
    step: int
    phase: Phase
    started_at: str
    step_started_at: str
    message: str = ""
    analysis: AnalysisState = AnalysisState()
    overlay_hash: str | None = None
    base_config_hash: str | None = None
    overlay: Mapping[str, Any] | None = None  # kept once promoted
    # `spec.canary.notify` as last seen: a rollback that removes spec.canary is still announced.
    notify: CanaryNotify | None = None

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    def is_of(self, canary: Canary) -> bool:
        """Whether this record is of `canary`, rather than of an earlier one."""
        if self.overlay_hash is not None:
            return self.overlay_hash == release.overlay_hash(canary)
        return canary.changes == ("version",) and self.version == canary.version

    def holds_over(self, stable: Release) -> bool:
        """Whether this promotion still overrides `stable`, the spec's stable release: it does while
        the spec says what the promotion replaced."""
        if self.phase != "Promoted" or stable.version != self.base_version:
            return False
        return self.base_config_hash is None or self.base_config_hash == stable.config_hash

    def promoted_over(self, stable: Release) -> Release:
        """What the stable track runs while this promotion holds."""
        return stable.over({**(self.overlay or {}), "version": self.version})

    def but(self, **changes: Any) -> "Record":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
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
        optional = (
            ("overlayHash", self.overlay_hash),
            ("baseConfigHash", self.base_config_hash),
            ("overlay", None if self.overlay is None else dict(self.overlay)),
            ("notify", None if self.notify is None else self.notify.model_dump(by_alias=True)),
        )
        out.update({key: value for key, value in optional if value is not None})
        return out

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
            overlay_hash=_text(data.get("overlayHash")),
            base_config_hash=_text(data.get("baseConfigHash")),
            overlay=release.checked(data.get("overlay")),
            notify=_notify(data.get("notify")),
        )


def _notify(value: Any) -> CanaryNotify | None:
    """A `spec.canary.notify` block as recorded, or None when it does not read as one."""
    try:
        return CanaryNotify.model_validate(value) if value is not None else None
    except pydantic.ValidationError:
        return None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int | float) and value != "" else None
