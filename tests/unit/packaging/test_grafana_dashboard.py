"""manifests/grafana/parley-dashboard.json: valid PromQL over metrics Parley really exports, one panel
for each thing issue 6 asks to see, and labels that the chart's PodMonitor actually attaches."""

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from prometheus_client import CollectorRegistry

from parley_operator.metrics import OperatorMetrics
from parley_runtime.observability.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "manifests" / "grafana" / "parley-dashboard.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _exprs(panel: dict[str, Any]) -> list[str]:
    return [t["expr"] for t in panel["targets"]]


def _parse(expr: str) -> Any:
    """Grafana's variables replaced by what they expand to, then Prometheus' own grammar."""
    concrete = expr.replace("$__rate_interval", "5m")
    concrete = re.sub(r"\$\{?(namespace|chatbot)\}?", ".*", concrete)
    return promql_parser.parse(concrete)


def _selected_metrics(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(_parse(expr), visit)
    return names


def _exported() -> set[str]:
    """Every series name the runtime's and the operator's metrics objects can produce."""
    out: set[str] = set()
    for registry in (Metrics(CollectorRegistry()).registry, OperatorMetrics(CollectorRegistry()).registry):
        for family in registry.collect():
            out.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return out


def _panel(title_start: str) -> dict[str, Any]:
    [panel] = [p for p in _panels() if p["title"].startswith(title_start)]
    return panel


@pytest.mark.parametrize("panel", _panels(), ids=lambda p: p["title"])
def test_every_query_parses_and_uses_only_exported_metrics(panel: dict[str, Any]) -> None:
    assert panel["targets"]
    for expr in _exprs(panel):
        used = _selected_metrics(expr)
        assert used and used <= _exported(), used - _exported()


def test_a_typo_in_a_metric_name_would_be_caught() -> None:
    assert not _selected_metrics("rate(parley_mesages_total[5m])") <= _exported()
    with pytest.raises(ValueError):
        _parse("sum by (track (rate(parley_messages_total[5m]))")


def test_messages_per_second_by_platform_and_track() -> None:
    [expr] = _exprs(_panel("Messages/s"))
    assert "rate(parley_messages_total" in expr and "by (platform, track)" in expr


def test_p99_latency_from_the_message_histogram() -> None:
    exprs = _exprs(_panel("p99 latency, receipt to reply"))
    assert any("histogram_quantile(0.99" in e and "parley_message_seconds_bucket" in e for e in exprs)


def test_llm_errors_per_provider() -> None:
    [expr] = _exprs(_panel("LLM errors/s per provider"))
    assert "parley_llm_requests_total" in expr and 'outcome!="ok"' in expr and "by (provider" in expr


def test_queue_lag_and_canary_weight() -> None:
    assert "parley_queue_lag" in _exprs(_panel("Queue lag"))[0]
    [canary] = _exprs(_panel("Canary weight"))
    assert 'track="canary"' in canary and "by (chatbot)" in canary


def test_variables_are_defined_and_used_and_match_the_pod_monitor_labels() -> None:
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("namespace", "chatbot"):
        assert any(f"${name}" in e for p in _panels() for e in _exprs(p)), name
    podmonitor = (ROOT / "charts/parley/templates/podmonitor.yaml").read_text(encoding="utf-8")
    assert "targetLabel: chatbot" in podmonitor


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = _dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in panels:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, p["title"]
        cells |= mine
    assert _dashboard()["uid"] == "parley-overview"
