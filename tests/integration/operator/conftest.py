"""The real operator against a fresh KMock per test module: `parley operator` as a subprocess
(`operator`, `cluster`), or in-process on a fake clock for the gray-release tests (`env`, `clock`)."""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from fakes.kmock_harness import NAMESPACE, Cluster, KMockThread, OperatorProcess
from integration.operator.canary_harness import Collect, FakeClock, InProcessOperator


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


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def operator_log() -> Iterator[list[logging.LogRecord]]:
    """Every log record of the module's operator runs (kopf's and Parley's)."""
    handler = Collect()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # what `parley operator` logs at
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory,
    clock: FakeClock,
    operator_log: list[logging.LogRecord],
    kmock_server: KMockThread,
) -> Iterator[tuple[Cluster, InProcessOperator]]:
    """The operator in-process on `clock`, and the cluster; KUBECONFIG points at the emulator (for
    kopf's login, as in a pod's environment, and for `parley` commands run as subprocesses)."""
    with pytest.MonkeyPatch.context() as mp:
        kubeconfig = kmock_server.write_kubeconfig(
            tmp_path_factory.mktemp("kube") / "config", namespace=NAMESPACE
        )
        mp.setenv("KUBECONFIG", str(kubeconfig))
        cluster = Cluster(kubernetes.config.new_client_from_config(str(kubeconfig)))
        cluster.secret("llm", {"deepseek": "sk-canary-test-value"})
        operator = InProcessOperator(clock).start()
        try:
            yield cluster, operator
        finally:
            operator.stop()
