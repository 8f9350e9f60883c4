"""Canary analysis: cumulative engine counters at two moments → one window's figures → a verdict.

Why counters and not rates: both sources (a scrape of the pods, an instant query to Prometheus) give
the same monotonically growing totals; keeping the previous reading in status makes every window a
plain subtraction, survives an operator restart and needs no query language. A total that went
down means pods restarted or left: the window then counts what the current pods have seen (the
usual counter-reset rule), which can only make the window larger, never invent traffic.

Both tracks are measured over the same window and each needs `minSamples` messages: fewer on either
is Inconclusive, because a comparison with a track that saw nothing says nothing.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from parley_runtime.config.models import Analysis
from parley_runtime.core.durations import parse_duration

Result = Literal["Pass", "Fail", "Inconclusive"]
QUANTILE = 0.99


@dataclass(frozen=True)
class Counters:
    """Totals of one track since its pods started: messages, errors, the latency histogram as
    cumulative `(upper bound, count)` buckets sorted by bound (the last bound is +Inf), failed model
    calls (each one a fallback: to a retry, the next route, or an error) and the model cost."""

    total: float = 0.0
    errors: float = 0.0
    buckets: tuple[tuple[float, float], ...] = ()
    fallbacks: float = 0.0
    cost: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "errors": self.errors,
            "buckets": {_bound_text(le): count for le, count in self.buckets},
            "fallbacks": self.fallbacks,
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, data: Any) -> "Counters | None":
        if not isinstance(data, Mapping):
            return None
        try:
            buckets = sorted((float(le), float(n)) for le, n in (data.get("buckets") or {}).items())
            return cls(
                float(data.get("total") or 0),
                float(data.get("errors") or 0),
                tuple(buckets),
                float(data.get("fallbacks") or 0),
                float(data.get("cost") or 0),
            )
        except (TypeError, ValueError, AttributeError):
            return None


def _bound_text(le: float) -> str:
    return "+Inf" if math.isinf(le) else repr(le)


@dataclass(frozen=True)
class Sample:
    """One reading of both tracks; `problem` says why there is none (metrics unreachable…)."""

    canary: Counters | None
    stable: Counters | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Window:
    """What one track did between two readings."""

    messages: float
    errors: float
    p99_seconds: float | None
    fallbacks: float = 0.0
    cost: float = 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.messages if self.messages > 0 else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.messages if self.messages > 0 else 0.0

    @property
    def cost_per_message(self) -> float:
        return self.cost / self.messages if self.messages > 0 else 0.0


@dataclass(frozen=True)
class Thresholds:
    """Limits from `spec.canary.analysis`: error rate and p99 always apply; the fallback and cost
    limits, and those relative to the stable track in the same window, are off (None) unless set."""

    max_error_rate: float
    max_p99_seconds: float
    min_samples: int
    max_error_rate_over_stable: float | None = None
    max_p99_ratio_to_stable: float | None = None
    max_fallback_rate: float | None = None
    max_fallback_rate_over_stable: float | None = None
    max_cost_per_message: float | None = None
    max_cost_ratio_to_stable: float | None = None

    @classmethod
    def of(cls, analysis: Analysis) -> "Thresholds":
        return cls(
            analysis.max_error_rate,
            analysis.max_p99_seconds,
            analysis.samples_needed,
            analysis.max_error_rate_over_stable,
            analysis.max_p99_ratio_to_stable,
            analysis.max_fallback_rate,
            analysis.max_fallback_rate_over_stable,
            analysis.max_cost_per_message,
            analysis.max_cost_ratio_to_stable,
        )


@dataclass(frozen=True)
class Verdict:
    result: Result
    message: str
    canary: Window | None = None
    stable: Window | None = None

    def figures(self) -> dict[str, Any]:
        """The measured figures as status keeps them (rounded: status is for people)."""
        out: dict[str, Any] = {}
        for name, window in (("canary", self.canary), ("stable", self.stable)):
            if window is not None:
                out[name] = {
                    "messages": int(window.messages),
                    "errorRate": round(window.error_rate, 4),
                    "p99Seconds": None if window.p99_seconds is None else round(window.p99_seconds, 3),
                    "fallbackRate": round(window.fallback_rate, 4),
                    "costPerMessage": round(window.cost_per_message, 6),
                }
        return out


def interval_seconds(analysis: Analysis) -> float:
    return parse_duration(analysis.interval)


def delta(current: Counters, baseline: Counters | None) -> Counters:
    """`current - baseline`, or `current` alone where a counter went down (a reset)."""
    if baseline is None or current.total < baseline.total:
        return current
    before = dict(baseline.buckets)
    buckets = []
    for le, count in current.buckets:
        old = before.get(le, 0.0)
        buckets.append((le, _less(count, old)))
    return Counters(
        current.total - baseline.total,
        _less(current.errors, baseline.errors),
        tuple(buckets),
        _less(current.fallbacks, baseline.fallbacks),
        _less(current.cost, baseline.cost),
    )


def _less(now: float, before: float) -> float:
    """One counter's growth; the counter itself when it went down (a reset)."""
    return now - before if now >= before else now


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' `histogram_quantile` over cumulative buckets: linear inside the bucket that holds
    the rank; the highest finite bound when the rank lies in +Inf; None for an empty histogram."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower_bound
            if count == lower_count:
                return le
            return lower_bound + (le - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = le, count
    return lower_bound


def window(current: Counters, baseline: Counters | None) -> Window:
    d = delta(current, baseline)
    return Window(d.total, d.errors, quantile(QUANTILE, d.buckets), d.fallbacks, d.cost)


def _fmt(w: Window) -> str:
    p99 = "n/a" if w.p99_seconds is None else f"{w.p99_seconds:.3g}s"
    text = f"error rate {w.error_rate:.4g} over {int(w.messages)} messages, p99 {p99}"
    if w.fallbacks:
        text += f", fallback rate {w.fallback_rate:.4g}"
    if w.cost:
        text += f", cost/message {w.cost_per_message:.4g}"
    return text


def evaluate(
    sample: Sample,
    baseline_canary: Counters | None,
    baseline_stable: Counters | None,
    limits: Thresholds,
) -> Verdict:
    """The verdict on one window. Fewer than `minSamples` messages on either track is Inconclusive: a
    quiet bot neither passes nor fails on no data. Every limit that is broken is named, with the figure."""
    if sample.canary is None:
        return Verdict("Inconclusive", f"no canary metrics: {sample.problem or 'no engine pods answered'}")
    canary = window(sample.canary, baseline_canary)
    stable = window(sample.stable, baseline_stable) if sample.stable is not None else None
    few = [
        f"{int(w.messages)} {name} messages"
        for name, w in (("canary", canary), ("stable", stable))
        if w is not None and w.messages < limits.min_samples
    ]
    if few:
        message = f"{' and '.join(few)}, fewer than minSamples {limits.min_samples}"
        return Verdict("Inconclusive", message, canary, stable)
    if stable is None:
        return Verdict(
            "Inconclusive", f"no stable metrics to compare with: {sample.problem or 'none read'}", canary
        )
    broken: list[str] = []
    if canary.error_rate > limits.max_error_rate:
        broken.append(f"error rate {canary.error_rate:.4g} > {limits.max_error_rate:g}")
    if canary.p99_seconds is not None and canary.p99_seconds > limits.max_p99_seconds:
        broken.append(f"p99 {canary.p99_seconds:.3g}s > {limits.max_p99_seconds:g}s")
    if limits.max_fallback_rate is not None and canary.fallback_rate > limits.max_fallback_rate:
        broken.append(f"fallback rate {canary.fallback_rate:.4g} > {limits.max_fallback_rate:g}")
    if limits.max_cost_per_message is not None and canary.cost_per_message > limits.max_cost_per_message:
        broken.append(f"cost/message {canary.cost_per_message:.4g} > {limits.max_cost_per_message:g}")
    if stable.messages > 0:
        broken += _relative(canary, stable, limits)
    figures = f"canary {_fmt(canary)}" + (f"; stable {_fmt(stable)}" if stable is not None else "")
    if broken:
        return Verdict("Fail", f"{'; '.join(broken)} ({figures})", canary, stable)
    return Verdict("Pass", figures, canary, stable)


def _relative(canary: Window, stable: Window, limits: Thresholds) -> list[str]:
    broken = []
    over = limits.max_error_rate_over_stable
    if over is not None and canary.error_rate > stable.error_rate + over:
        broken.append(f"error rate {canary.error_rate:.4g} > stable {stable.error_rate:.4g} + {over:g}")
    ratio = limits.max_p99_ratio_to_stable
    if (
        ratio is not None
        and canary.p99_seconds is not None
        and stable.p99_seconds is not None
        and canary.p99_seconds > stable.p99_seconds * ratio
    ):
        broken.append(f"p99 {canary.p99_seconds:.3g}s > {ratio:g} × stable {stable.p99_seconds:.3g}s")
    over = limits.max_fallback_rate_over_stable
    if over is not None and canary.fallback_rate > stable.fallback_rate + over:
        broken.append(
            f"fallback rate {canary.fallback_rate:.4g} > stable {stable.fallback_rate:.4g} + {over:g}"
        )
    ratio = limits.max_cost_ratio_to_stable
    if ratio is not None and stable.cost > 0 and canary.cost_per_message > stable.cost_per_message * ratio:
        broken.append(
            f"cost/message {canary.cost_per_message:.4g} > {ratio:g} × stable {stable.cost_per_message:.4g}"
        )
    return broken
