"""A redis-server configured as a production Redis that must not lose an acknowledged write.

`fakes.redis_server` starts Redis with persistence off (`--save "" --appendonly no`): right for tests
that never restart it. This one writes an append-only file (`appendonly yes`) and fsyncs it before
every reply (`appendfsync always`) or once a second (`everysec`, Redis' default and the chart's
quick-start Redis), can be killed with SIGKILL, and comes back on the same port from the same folder,
so clients reconnect to the data they wrote.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from fakes.redis_server import find_redis_server
from integration.split.harness import RestartableRedis

__all__ = ["DurableRedis"]

_START_SECONDS = 10.0


class DurableRedis(RestartableRedis):
    def __init__(self, directory: Path, *, fsync: str = "always") -> None:
        super().__init__(directory)
        self.fsync = fsync

    def _launch(self) -> bool:
        args = [
            find_redis_server(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
            "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if self.ping():
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no goodbye to clients; what survives is what was fsynced."""
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
