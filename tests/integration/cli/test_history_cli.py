"""`parley history` / `parley rollback` without a usable cluster: one line, exit code 2, no traceback.
(With a cluster they run against KMock in tests/integration/operator/test_config_canary_kmock.py.)"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(sys.executable).with_name("parley")
PARLEY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "parley_runtime.cli"]


def run(*args: str, kubeconfig: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env.update(KUBECONFIG=str(kubeconfig), HOME=str(home))
    return subprocess.run([*PARLEY, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("command", [["history", "helpdesk"], ["rollback", "helpdesk", "--to", "2"]])
def test_without_a_kubeconfig_it_says_so_in_one_line(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config"
    done = run(*command, kubeconfig=missing, home=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"parley {command[0]}: no Kubernetes credentials: not in a cluster, and no kubeconfig at {missing}\n"
    )


def test_an_unreachable_api_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    done = run("history", "helpdesk", kubeconfig=config, home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("parley history: cannot reach the Kubernetes API")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_malformed_kubeconfig_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nkind: Config\ncurrent-context: missing\n")
    done = run("rollback", "helpdesk", kubeconfig=config, home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"parley rollback: cannot read the kubeconfig {config}")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
