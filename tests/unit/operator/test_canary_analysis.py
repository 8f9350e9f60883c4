"""Canary analysis: counter deltas, p99 from histogram buckets, thresholds and the minimum sample."""

import math

import httpx
import promql_parser
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from parley_operator.k8s import metrics_source
from parley_operator.policies import analysis
from parley_operator.policies.analysis import Counters, Sample, Thresholds
from parley_runtime.config.models import Analysis
from parley_runtime.observability.metrics import Metrics

INF = math.inf
LIMITS = Thresholds(max_error_rate=0.05, max_p99_seconds=8.0, min_samples=20)


def buckets(*pairs: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    return tuple(pairs)


STABLE = Counters(1000, 10, buckets((1.0, 1000), (INF, 1000)))  # enough stable traffic to compare with


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
        (Counters(19, 19, buckets((1.0, 19), (INF, 19))), "Inconclusive", "fewer than minSamples 20"),
    ],
)
def test_verdicts_name_the_broken_limit_and_the_figures(current: Counters, result: str, words: str) -> None:
    verdict = analysis.evaluate(Sample(current, STABLE), None, None, LIMITS)
    assert verdict.result == result
    assert words in verdict.message


def test_no_metrics_is_inconclusive_never_a_failure() -> None:
    verdict = analysis.evaluate(Sample(None, None, "no running canary engine pods"), None, None, LIMITS)
    assert verdict.result == "Inconclusive" and "no running canary engine pods" in verdict.message


def test_min_samples_apply_to_each_track_and_the_figures_stay_visible() -> None:
    busy = Counters(500, 0, buckets((1.0, 500), (INF, 500)))
    quiet = Counters(12, 0, buckets((1.0, 12), (INF, 12)))
    verdict = analysis.evaluate(Sample(busy, quiet), None, None, LIMITS)
    assert verdict.result == "Inconclusive"
    assert verdict.message == "12 stable messages, fewer than minSamples 20"
    assert verdict.figures()["canary"]["messages"] == 500 and verdict.figures()["stable"]["messages"] == 12
    both = analysis.evaluate(Sample(quiet, quiet), None, None, LIMITS)
    assert both.message == "12 canary messages and 12 stable messages, fewer than minSamples 20"
    # Without stable figures there is nothing to compare with: inconclusive, even with enough canary traffic.
    alone = analysis.evaluate(Sample(busy, None, "no running stable engine pods"), None, None, LIMITS)
    assert alone.result == "Inconclusive" and "no running stable engine pods" in alone.message


def test_fallback_rate_and_cost_per_message_are_compared_with_stable() -> None:
    limits = Thresholds(0.5, 60.0, 10, max_fallback_rate_over_stable=0.05, max_cost_ratio_to_stable=1.5)
    canary = Counters(100, 0, buckets((1.0, 100), (INF, 100)), fallbacks=20, cost=0.5)
    stable = Counters(1000, 0, buckets((1.0, 1000), (INF, 1000)), fallbacks=10, cost=2.0)
    verdict = analysis.evaluate(Sample(canary, stable), None, None, limits)
    assert verdict.result == "Fail"
    assert "fallback rate 0.2 > stable 0.01 + 0.05" in verdict.message
    assert "cost/message 0.005 > 1.5 × stable 0.002" in verdict.message
    assert verdict.figures()["canary"] == {
        "messages": 100, "errorRate": 0.0, "p99Seconds": 0.99, "fallbackRate": 0.2, "costPerMessage": 0.005,
    }  # fmt: skip
    absolute = Thresholds(0.5, 60.0, 10, max_fallback_rate=0.1, max_cost_per_message=0.001)
    assert (
        "fallback rate 0.2 > 0.1" in analysis.evaluate(Sample(canary, stable), None, None, absolute).message
    )
    cheap = Counters(100, 0, buckets((1.0, 100), (INF, 100)), fallbacks=1, cost=0.1)
    assert analysis.evaluate(Sample(cheap, stable), None, None, limits).result == "Pass"


def test_fallbacks_and_cost_are_window_deltas_with_the_reset_rule() -> None:
    before = Counters(100, 0, (), fallbacks=5, cost=1.0)
    after = Counters(150, 0, (), fallbacks=9, cost=1.25)
    w = analysis.window(after, before)
    assert (w.fallbacks, w.cost) == (4, 0.25)
    assert w.fallback_rate == pytest.approx(4 / 50) and w.cost_per_message == pytest.approx(0.005)
    restarted = Counters(160, 0, (), fallbacks=2, cost=0.5)  # total grew, the cost counter reset
    assert analysis.window(restarted, before).cost == 0.5


def test_relative_limits_compare_with_stable_in_the_same_window() -> None:
    limits = Thresholds(0.5, 60.0, 1, max_error_rate_over_stable=0.01, max_p99_ratio_to_stable=1.5)
    canary = Counters(100, 5, buckets((1.0, 50), (4.0, 100), (INF, 100)))
    stable = Counters(1000, 10, buckets((1.0, 1000), (INF, 1000)))
    verdict = analysis.evaluate(Sample(canary, stable), None, None, limits)
    assert verdict.result == "Fail"
    assert "> stable 0.01 + 0.01" in verdict.message and "× stable" in verdict.message
    assert verdict.figures()["stable"] == {
        "messages": 1000, "errorRate": 0.01, "p99Seconds": 0.99, "fallbackRate": 0.0, "costPerMessage": 0.0,
    }  # fmt: skip


def test_thresholds_come_from_the_spec() -> None:
    spec = Analysis.model_validate({"maxErrorRate": 0.02, "maxP99Seconds": 8, "minSamples": 30})
    assert Thresholds.of(spec) == Thresholds(0.02, 8.0, 30)
    assert analysis.interval_seconds(Analysis.model_validate({"interval": "90s"})) == 90.0


@pytest.mark.parametrize(
    ("fields", "needed"),
    [({}, 50), ({"minSamples": 5}, 5), ({"minSampleSize": 7}, 7), ({"minSamples": 0, "minSampleSize": 0}, 0)],
)
def test_min_samples_default_to_50_and_the_older_name_still_works(
    fields: dict[str, int], needed: int
) -> None:
    assert Analysis.model_validate(fields).samples_needed == needed


def test_both_names_with_different_values_are_refused() -> None:
    with pytest.raises(ValueError, match="older name of minSamples"):
        Analysis.model_validate({"minSamples": 5, "minSampleSize": 7})


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


def test_a_pod_s_model_calls_and_cost_count_for_its_track() -> None:
    """The runtime's own metrics: failed model calls are the fallbacks, the cost is summed over routes."""
    metrics = Metrics()
    metrics.messages.labels("feishu", "canary", "ok").inc(10)
    metrics.llm_requests.labels("main", "deepseek-chat", "ok").inc(9)
    metrics.llm_requests.labels("main", "deepseek-chat", "timeout").inc(2)
    metrics.llm_requests.labels("backup", "qwen", "error").inc(1)
    metrics.llm_cost.labels("main", "deepseek-chat").inc(0.25)
    metrics.llm_cost.labels("backup", "qwen").inc(0.05)
    c = metrics_source.parse_exposition(metrics.render().decode(), "canary")
    assert (c.total, c.fallbacks) == (10, 3)
    assert c.cost == pytest.approx(0.30)


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


def test_promql_of_model_calls_selects_the_track_s_pods_by_name() -> None:
    failed, cost = metrics_source.promql_models("bots", "helpdesk", "canary")
    assert 'pod=~"helpdesk-canary-[a-z0-9]+-[a-z0-9]+"' in failed and 'outcome!="ok"' in failed
    assert cost.startswith("sum(parley_llm_cost_total{") and 'component="engine"' in cost
    stable, _ = metrics_source.promql_models("bots", "helpdesk", "stable")
    assert 'pod=~"helpdesk-[a-z0-9]+-[a-z0-9]+"' in stable
    for query in (failed, cost, stable):
        promql_parser.parse(query)  # valid PromQL


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
            "maxFallbackRate": 0.2,
            "maxFallbackRateOverStable": 0.05,
            "maxCostPerMessage": 0.01,
            "maxCostRatioToStable": 1.2,
        }
    )
    assert Thresholds.of(spec) == Thresholds(0.02, 8.0, 50, 0.01, 1.5, 0.2, 0.05, 0.01, 1.2)
    assert Thresholds.of(Analysis()).max_error_rate_over_stable is None
