import json
import os
from pathlib import Path

from parley_runtime.gateway.routing import RouteTable, parse_routes


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write_routes(path: Path, weight: float) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"bot": "b", "stableVersion": "1", "canaryVersion": "2", "canaryWeight": weight})
    )
    os.replace(tmp, path)  # atomic, like the kubelet's symlink swap


def test_weight_follows_the_file_without_restart(tmp_path: Path) -> None:
    path = tmp_path / "routes.json"
    clock = FakeClock()
    table = RouteTable(path, clock, min_interval=1.0)
    assert table.routes.canary_weight == 0  # no file yet
    write_routes(path, 20)
    clock.now = 1.0
    assert table.routes.canary_weight == 20
    write_routes(path, 50)
    clock.now = 1.5  # within min_interval: the cached value is served
    assert table.routes.canary_weight == 20
    clock.now = 2.0
    assert table.routes.canary_weight == 50
    assert table.routes.canary_version == "2"


def test_bad_file_keeps_the_last_good_weight(tmp_path: Path) -> None:
    path = tmp_path / "routes.json"
    clock = FakeClock()
    write_routes(path, 30)
    table = RouteTable(path, clock)
    assert table.routes.canary_weight == 30
    path.write_text("{not json")
    clock.now = 5
    assert table.routes.canary_weight == 30
    path.write_text(json.dumps({"canaryWeight": 250}))
    clock.now = 10
    assert table.routes.canary_weight == 30


def test_no_file_configured_means_stable() -> None:
    table = RouteTable(None, FakeClock())
    assert {table.track("b", "p", f"u{i}") for i in range(100)} == {"stable"}


def test_parse_routes_defaults() -> None:
    assert parse_routes("{}").canary_weight == 0
