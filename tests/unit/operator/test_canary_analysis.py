"""Canary analysis: counter deltas, p99 from histogram buckets, thresholds and the minimum sample."""

import math

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from parley_operator.k8s import metrics_source
from parley_operator.policies import analysis
from parley_operator.policies.analysis import Counters, Sample, Thresholds
from parley_runtime.config.models import Analysis

INF = math.inf
LIMITS = Thresholds(max_error_rate=0.05, max_p99_seconds=8.0, min_sample_size=20)


def buckets(*pairs: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    return tuple(pairs)


def test_p99_interpolates_inside_the_bucket_like_histogram_quantile() -> None:
    # 100 observations: 90 under 1s, 9 in (1, 2], 1 in (2, 4]. Rank 99 is the last of (1, 2].
    b = buckets((1.0, 90), (2.0, 99), (4.0, 100), (INF, 100))
    assert analysis.quantile(0.99, b) == pytest.approx(2.0)
    assert analysis.quantile(0.5, b) == pytest.approx(1.0 * 50 / 90)
    # The rank falls into +Inf: the highest finite bound, as Prometheus answers.
    assert analysis.quantile(0.99, buckets((1.0, 10), (INF, 100))) == 1.0
    assert analysis.quantile(0.99, buckets((1.0, 0), (INF, 0))) is None


def test_window_is_the_difference_of_two_readings() -> None:
    before = Counters(100, 2, buckets((1.0, 95), (10.0, 100), (INF, 100)))
    after = Counters(300, 12, buckets((1.0, 195), (10.0, 290), (INF, 300)))
    w = analysis.window(after, before)
    assert (w.messages, w.errors) == (200, 10)
    assert w.error_rate == pytest.approx(0.05)
    # 200 in the window: 100 under 1s, 90 in (1, 10], 10 above 10s → p99 is beyond the last bound.
    assert w.p99_seconds == 10.0


def test_a_counter_that_went_down_counts_from_zero() -> None:
    before = Counters(500, 50, buckets((1.0, 500), (INF, 500)))
    after = Counters(40, 1, buckets((1.0, 40), (INF, 40)))  # the pods restarted
    assert analysis.window(after, before).messages == 40


@pytest.mark.parametrize(
    ("current", "result", "words"),
    [
        (Counters(100, 1, buckets((1.0, 100), (INF, 100))), "Pass", "error rate 0.01 over 100"),
        (Counters(100, 31, buckets((1.0, 100), (INF, 100))), "Fail", "error rate 0.31 > 0.05"),
        (
            Counters(100, 0, buckets((1.0, 50), (16.0, 100), (INF, 100))),
            "Fail",
            "p99 15.7s > 8s",
        ),  # 1 + 15·49/50
        (Counters(19, 19, buckets((1.0, 19), (INF, 19))), "Inconclusive", "fewer than minSampleSize 20"),
    ],
)
def test_verdicts_name_the_broken_limit_and_the_figures(current: Counters, result: str, words: str) -> None:
    verdict = analysis.evaluate(Sample(current), None, None, LIMITS)
    assert verdict.result == result
    assert words in verdict.message


def test_no_metrics_is_inconclusive_never_a_failure() -> None:
    verdict = analysis.evaluate(Sample(None, None, "no running canary engine pods"), None, None, LIMITS)
    assert verdict.result == "Inconclusive" and "no running canary engine pods" in verdict.message


def test_relative_limits_compare_with_stable_in_the_same_window() -> None:
    limits = Thresholds(0.5, 60.0, 1, max_error_rate_over_stable=0.01, max_p99_ratio_to_stable=1.5)
    canary = Counters(100, 5, buckets((1.0, 50), (4.0, 100), (INF, 100)))
    stable = Counters(1000, 10, buckets((1.0, 1000), (INF, 1000)))
    verdict = analysis.evaluate(Sample(canary, stable), None, None, limits)
    assert verdict.result == "Fail"
    assert "> stable 0.01 + 0.01" in verdict.message and "× stable" in verdict.message
    assert verdict.figures()["stable"] == {"messages": 1000, "errorRate": 0.01, "p99Seconds": 0.99}


def test_thresholds_come_from_the_spec() -> None:
    spec = Analysis.model_validate({"maxErrorRate": 0.02, "maxP99Seconds": 8, "minSampleSize": 50})
    assert Thresholds.of(spec) == Thresholds(0.02, 8.0, 50)
    assert analysis.interval_seconds(Analysis.model_validate({"interval": "90s"})) == 90.0


def test_counters_survive_the_trip_through_status() -> None:
    c = Counters(10, 1, buckets((0.5, 3), (1.0, 9), (INF, 10)))
    assert Counters.from_dict(c.to_dict()) == c
    assert Counters.from_dict({"buckets": {"x": 1}}) is None


def engine_exposition() -> str:
    """What a real engine serves: the runtime's metric names, two tracks in one registry."""
    registry = CollectorRegistry()
    messages = Counter("parley_messages_total", "m", ["platform", "track", "outcome"], registry=registry)
    seconds = Histogram(
        "parley_message_seconds", "s", ["platform", "track"], buckets=(0.5, 2.0), registry=registry
    )
    messages.labels("feishu", "canary", "ok").inc(7)
    messages.labels("slack", "canary", "error").inc(3)
    messages.labels("slack", "canary", "rate_limited").inc(1)
    messages.labels("slack", "stable", "error").inc(100)
    for value in (0.1, 0.2, 1.0, 3.0):
        seconds.labels("feishu", "canary").observe(value)
    seconds.labels("feishu", "stable").observe(0.1)
    return generate_latest(registry).decode()


def test_an_engine_exposition_is_read_per_track() -> None:
    c = metrics_source.parse_exposition(engine_exposition(), "canary")
    assert (c.total, c.errors) == (11, 3)
    assert c.buckets == ((0.5, 2.0), (2.0, 3.0), (INF, 4.0))


def test_pod_metrics_url_uses_the_port_named_http() -> None:
    ports = [{"name": "x", "containerPort": 1}, {"name": "http", "containerPort": 8080}]
    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"ports": ports}]},
        "status": {"phase": "Running", "podIP": "10.0.0.7"},
    }
    assert metrics_source.pod_metrics_url(pod) == "http://10.0.0.7:8080/metrics"
    assert (
        metrics_source.pod_metrics_url({**pod, "status": {"phase": "Pending", "podIP": "10.0.0.7"}}) is None
    )
    assert metrics_source.pod_metrics_url({**pod, "status": {"phase": "Running"}}) is None
    terminating = {**pod, "metadata": {"name": "p", "deletionTimestamp": "2026-11-21T10:00:00Z"}}
    assert metrics_source.pod_metrics_url(terminating) is None


def test_promql_selects_the_bot_and_track() -> None:
    messages, histogram = metrics_source.promql("bots", "helpdesk", "canary")
    assert messages == (
        'sum by (outcome) (parley_messages_total{namespace="bots",chatbot="helpdesk",track="canary"})'
    )
    assert histogram.startswith("sum by (le) (parley_message_seconds_bucket{")


async def test_a_prometheus_error_is_one_line_and_inconclusive() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "error", "error": "parse error at char 7"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        counters, why = await metrics_source.query_track(http, "http://prom", "bots", "b", "canary")
    assert counters is None
    assert why == "Prometheus answered 400: parse error at char 7"


def test_thresholds_come_from_the_spec_including_the_relative_limits() -> None:
    spec = Analysis.model_validate(
        {
            "maxErrorRate": 0.02,
            "maxP99Seconds": 8,
            "minSampleSize": 50,
            "maxErrorRateOverStable": 0.01,
            "maxP99RatioToStable": 1.5,
        }
    )
    assert Thresholds.of(spec) == Thresholds(0.02, 8.0, 50, 0.01, 1.5)
    assert Thresholds.of(Analysis()).max_error_rate_over_stable is None
