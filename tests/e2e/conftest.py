"""The kind end-to-end suite is opt-in: `pytest tests/e2e --e2e` with Docker, kind and kubectl."""

import shutil
import subprocess

import pytest

TOOLS = ("docker", "kind", "kubectl")


def missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        docker = subprocess.run(["docker", "info"], capture_output=True, check=False)
        if docker.returncode != 0:
            missing.append("a running Docker daemon")
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    if not e2e:
        return
    if not config.getoption("--e2e", default=False):
        reason = "needs Docker and kind: opt in with --e2e"
    elif missing := missing_tools():
        reason = f"needs Docker and kind: {', '.join(missing)} not available"
    else:
        return
    for item in e2e:
        item.add_marker(pytest.mark.skip(reason=reason))
