"""A redis-server configured as a production Redis that must not lose an acknowledged write.

`fakes.redis_server` starts Redis with persistence off unless asked: right for tests that never
restart it. This one writes an append-only file (`appendonly yes`) and fsyncs it before
every reply (`appendfsync always`) or once a second (`everysec`, Redis' default and the chart's
quick-start Redis), can be killed with SIGKILL, and comes back on the same port from the same folder,
so clients reconnect to the data they wrote.
"""

from __future__ import annotations

import signal
from pathlib import Path

from integration.split.harness import RestartableRedis

__all__ = ["DurableRedis"]


class DurableRedis(RestartableRedis):
    def __init__(self, directory: Path, *, fsync: str = "always") -> None:
        super().__init__(directory, appendfsync=fsync)

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no goodbye to clients; what survives is what was fsynced."""
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
