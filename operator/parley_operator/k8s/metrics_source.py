"""Where canary analysis gets its numbers: the engine pods' own /metrics, or Prometheus.

Direct scrape (the default, nothing else to install): list the engine pods of a track by label, GET
`http://<podIP>:<port named http>/metrics` from each, and add the counters up. With
`analysis.prometheusURL`: instant queries per track to `/api/v1/query` over the labels the chart's
PodMonitor adds (`namespace`, `chatbot`, `component`, `pod`) and the engine's own (`track`). Either way
the result is the cumulative `Counters` of each track; `policies.analysis` turns two readings into a
window.

Messages and latency carry the engine's `track` label. The model calls (`parley_llm_requests_total`,
whose failed outcomes are the fallbacks) and the cost (`parley_llm_cost_total`) do not: an engine pod
serves one track, so a scrape counts all of a pod's series for its track, and Prometheus selects the
track's pods by name (`<bot>-canary-…` or `<bot>-…`, the pods of the two engine Deployments).

The scrape uses its own plain `httpx.AsyncClient`, never the API client: the operator's credentials
must not be sent to a pod. A source that cannot be read gives a Sample with a `problem`, never an
exception: analysis counts it as inconclusive.
"""

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from parley_operator.k8s import errors
from parley_operator.k8s.client import KubeClient
from parley_operator.policies.analysis import Counters, Sample
from parley_runtime.config.models import Analysis

MESSAGES = "parley_messages_total"
BUCKETS = "parley_message_seconds_bucket"
LLM_CALLS = "parley_llm_requests_total"
LLM_COST = "parley_llm_cost_total"
ERROR_OUTCOME = "error"
OK_OUTCOME = "ok"
TIMEOUT = httpx.Timeout(5.0)
TRACKS = ("canary", "stable")


def engine_labels(bot: str, track: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/instance": bot,
        "app.kubernetes.io/component": "engine",
        "parley.dev/track": track,
    }


class _Totals:
    """Counters being added up from several pods or query results."""

    def __init__(self) -> None:
        self.total = 0.0
        self.errors = 0.0
        self.buckets: dict[float, float] = {}
        self.fallbacks = 0.0
        self.cost = 0.0

    def message(self, outcome: str, value: float) -> None:
        self.total += value
        if outcome == ERROR_OUTCOME:
            self.errors += value

    def bucket(self, le: str, value: float) -> None:
        bound = float(le)
        self.buckets[bound] = self.buckets.get(bound, 0.0) + value

    def model_call(self, outcome: str, value: float) -> None:
        if outcome != OK_OUTCOME:
            self.fallbacks += value

    def counters(self) -> Counters:
        return Counters(
            self.total, self.errors, tuple(sorted(self.buckets.items())), self.fallbacks, self.cost
        )


def parse_exposition(text: str, track: str, totals: _Totals | None = None) -> Counters:
    """The counters of `track` in one engine pod's Prometheus text exposition: its message series of
    that track (others are ignored) and its model calls and cost (the pod serves one track)."""
    totals = totals or _Totals()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == LLM_CALLS:
                totals.model_call(s.labels.get("outcome", ""), float(s.value))
            elif s.name == LLM_COST:
                totals.cost += float(s.value)
            elif s.labels.get("track") != track:
                continue
            elif s.name == MESSAGES:
                totals.message(s.labels.get("outcome", ""), float(s.value))
            elif s.name == BUCKETS and "le" in s.labels:
                totals.bucket(s.labels["le"], float(s.value))
    return totals.counters()


def pod_metrics_url(pod: Mapping[str, Any]) -> str | None:
    """Where a running pod serves /metrics: its IP and the container port named `http`."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    ip = status.get("podIP")
    if not ip or meta.get("deletionTimestamp") or status.get("phase", "Running") != "Running":
        return None
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == "http" and port.get("containerPort"):
                host = f"[{ip}]" if ":" in str(ip) else str(ip)
                return f"http://{host}:{int(port['containerPort'])}/metrics"
    return None


async def _get_text(http: httpx.AsyncClient, url: str) -> str | None:
    try:
        response = await http.get(url, timeout=TIMEOUT)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


async def scrape_track(
    client: KubeClient, http: httpx.AsyncClient, namespace: str, bot: str, track: str
) -> tuple[Counters | None, str | None]:
    """The summed counters of the track's pods that answered; (None, why) when none did."""
    pods = await client.list("v1", "Pod", namespace, labels=engine_labels(bot, track))
    urls = [u for u in (pod_metrics_url(p) for p in pods) if u is not None]
    if not urls:
        return None, f"no running {track} engine pods"
    texts = await asyncio.gather(*(_get_text(http, u) for u in urls))
    answered = [t for t in texts if t is not None]
    if not answered:
        return None, f"none of {len(urls)} {track} engine pods served /metrics"
    totals = _Totals()
    try:
        for text in answered:
            parse_exposition(text, track, totals)
    except ValueError:
        return None, f"a {track} engine pod served metrics that do not parse"
    return totals.counters(), None


def promql(namespace: str, bot: str, track: str) -> tuple[str, str]:
    labels = f'namespace="{namespace}",chatbot="{bot}",track="{track}"'
    return f"sum by (outcome) ({MESSAGES}{{{labels}}})", f"sum by (le) ({BUCKETS}{{{labels}}})"


def promql_models(namespace: str, bot: str, track: str) -> tuple[str, str]:
    """Failed model calls and model cost of the track's engine pods (these series have no `track`).
    Pods of a Deployment are named `<deployment>-<hash>-<suffix>`; bot names are DNS labels, so the
    name needs no escaping in the regular expression."""
    deployment = f"{bot}-canary" if track == "canary" else bot
    labels = (
        f'namespace="{namespace}",chatbot="{bot}",component="engine",pod=~"{deployment}-[a-z0-9]+-[a-z0-9]+"'
    )
    return (
        f'sum by (outcome) ({LLM_CALLS}{{{labels},outcome!="{OK_OUTCOME}"}})',
        f"sum({LLM_COST}{{{labels}}})",
    )


async def _query(http: httpx.AsyncClient, base: str, query: str) -> list[dict[str, Any]]:
    """An instant query's vector; ValueError with one line when Prometheus does not give one."""
    try:
        response = await http.get(
            f"{base.rstrip('/')}/api/v1/query", params={"query": query}, timeout=TIMEOUT
        )
    except httpx.HTTPError as e:
        raise ValueError(f"Prometheus unreachable ({type(e).__name__})") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        raise ValueError(f"Prometheus answered {response.status_code}: {str(error or '')[:200]}".rstrip(": "))
    data = body.get("data") or {}
    if data.get("resultType") != "vector":
        raise ValueError(f"Prometheus gave a {data.get('resultType')}, not a vector")
    return [r for r in data.get("result") or [] if isinstance(r, dict)]


def _values(result: Iterable[Mapping[str, Any]], label: str) -> Iterable[tuple[str, float]]:
    for series in result:
        value = series.get("value") or [0, "0"]
        yield str((series.get("metric") or {}).get(label, "")), float(value[1])


async def query_track(
    http: httpx.AsyncClient, base: str, namespace: str, bot: str, track: str
) -> tuple[Counters | None, str | None]:
    messages, buckets = promql(namespace, bot, track)
    failed, cost = promql_models(namespace, bot, track)
    totals = _Totals()
    try:
        by_outcome, by_le, calls, spent = await asyncio.gather(
            _query(http, base, messages),
            _query(http, base, buckets),
            _query(http, base, failed),
            _query(http, base, cost),
        )
        for outcome, value in _values(by_outcome, "outcome"):
            totals.message(outcome, value)
        for le, value in _values(by_le, "le"):
            totals.bucket(le, value)
        for outcome, value in _values(calls, "outcome"):
            totals.model_call(outcome, value)
        totals.cost = sum(value for _, value in _values(spent, ""))
    except (ValueError, TypeError, IndexError) as e:
        return None, str(e) or "Prometheus gave an unexpected answer"
    return totals.counters(), None


async def read_sample(
    client: KubeClient, http: httpx.AsyncClient, namespace: str, bot: str, analysis: Analysis
) -> Sample:
    """Both tracks' counters now (the verdict needs both: missing stable figures are inconclusive)."""
    try:
        if analysis.prometheus_url:
            url = analysis.prometheus_url
            (canary, why), (stable, stable_why) = await asyncio.gather(
                query_track(http, url, namespace, bot, "canary"),
                query_track(http, url, namespace, bot, "stable"),
            )
        else:
            (canary, why), (stable, stable_why) = await asyncio.gather(
                scrape_track(client, http, namespace, bot, "canary"),
                scrape_track(client, http, namespace, bot, "stable"),
            )
    except errors.ApiError as e:
        return Sample(None, None, f"cannot list engine pods: {e}")
    return Sample(canary, stable, why or stable_why)
