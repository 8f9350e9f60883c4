"""The real operator (`parley operator`, a subprocess) against a fresh KMock per test module."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from fakes.kmock_harness import NAMESPACE, Cluster, KMockThread, OperatorProcess


@pytest.fixture(scope="module")
def kmock_server() -> Iterator[KMockThread]:
    with KMockThread() as server:
        yield server


@pytest.fixture(scope="module")
def kubeconfig(kmock_server: KMockThread, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kmock_server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", namespace=NAMESPACE)


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`parley operator` as a subprocess; yields its metrics port and log file."""
    process = OperatorProcess(kubeconfig, tmp_path_factory.mktemp("operator") / "operator.log").start()
    try:
        yield {"metrics_port": process.metrics_port, "log": process.log, "process": process}
    finally:
        process.stop()


@pytest.fixture(scope="module")
def cluster(kubeconfig: Path, operator: dict[str, Any]) -> Cluster:
    api = kubernetes.config.new_client_from_config(str(kubeconfig))
    return Cluster(api)
