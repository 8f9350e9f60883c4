"""Real `parley gateway` / `parley engine` subprocesses for the split-role tests.

Each process gets a free port, its own secrets folder (so a test can prove what a role does NOT need)
and a log file instead of a pipe (a pipe nobody reads blocks a chatty process). Environment variables
named `PARLEY_*` are taken from the test only, never inherited.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from factories import dump_yaml
from fakes.ports import free_port
from fakes.redis_server import RedisServer

PARLEY = [sys.executable, "-m", "parley_runtime.cli"]
START_SECONDS = 40.0  # two shared cores, several interpreters importing FastAPI at once


def write_secrets(root: Path, values: Mapping[str, str]) -> Path:
    """`{"llm/main": "sk-1"}` → the file `<root>/llm/main`, as Kubernetes mounts a Secret."""
    root.mkdir(parents=True, exist_ok=True)
    for key_path, value in values.items():
        target = root / key_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value)
    return root


def write_manifest(path: Path, *docs: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_yaml(*docs))
    return path


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update({"PARLEY_LOG_LEVEL": "INFO", "PARLEY_LOG_FORMAT": "text", **extra})
    return env


def eventually(condition: Callable[[], Any], *, within: float = 20.0, interval: float = 0.05) -> Any:
    """The first truthy value of `condition()`, or AssertionError at the deadline (not a timing check)."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(interval)


@dataclass
class Parley:
    """One `parley <role>` process on 127.0.0.1."""

    role: str
    manifest: Path
    secrets_dir: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    track: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.role}-{self.port}.log"

    def start(self) -> Parley:
        args = [*PARLEY, self.role, "-f", str(self.manifest), "--secrets-dir", str(self.secrets_dir)]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.workdir / "data")]
        if self.track is not None:
            args += ["--track", self.track]
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=_clean_env(self.env), cwd=self.workdir
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_healthy(self) -> Parley:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"parley {self.role} exited early:\n{self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"parley {self.role} did not become healthy:\n{self.log()[-3000:]}")

    def ready(self) -> httpx.Response:
        return httpx.get(f"{self.url}/ready", timeout=5)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, in-flight work abandoned, like a node that vanished."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()


def start_all(processes: Iterable[Parley]) -> list[Parley]:
    """Start in parallel (interpreter start-up dominates), then wait for each."""
    started = [p.start() for p in processes]
    for p in started:
        p.wait_healthy()
    return started


def stop_all(processes: Iterable[Parley]) -> None:
    for p in processes:
        p.stop()


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PARLEY, *args], capture_output=True, text=True, timeout=60, env=_clean_env(env or {})
    )


class RestartableRedis(RedisServer):
    """A private redis-server that comes back on the same port, so clients can reconnect to it."""

    def restart(self) -> None:
        assert self.port, "start() first"
        if not self._launch():
            raise RuntimeError(f"redis-server did not restart on port {self.port}")
