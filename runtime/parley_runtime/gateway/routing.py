"""The current gray-release weight, read from the route file the operator maintains.

The file is a mounted ConfigMap key (`routes.json`); Kubernetes swaps it atomically through a
symlink, so the weight is re-read whenever the file's identity or mtime changes — at most once per
`min_interval` — and applied without restarting the pod.
"""

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from parley_runtime.core.messages import Track
from parley_runtime.core.tracks import track_for

log = logging.getLogger("parley.routing")


@dataclass(frozen=True)
class Routes:
    canary_weight: float = 0.0
    stable_version: str | None = None
    canary_version: str | None = None


def parse_routes(text: str) -> Routes:
    data = json.loads(text)
    weight = float(data.get("canaryWeight") or 0)
    if not 0 <= weight <= 100:
        raise ValueError(f"canaryWeight out of range: {weight}")
    return Routes(weight, data.get("stableVersion"), data.get("canaryVersion"))


class RouteTable:
    def __init__(self, path: Path | None, clock: Callable[[], float], *, min_interval: float = 1.0) -> None:
        self.path = path
        self.clock = clock
        self.min_interval = min_interval
        self._routes = Routes()
        self._stamp: tuple[int, int, float] | None = None
        self._checked_at = float("-inf")

    @property
    def routes(self) -> Routes:
        now = self.clock()
        if self.path is not None and now - self._checked_at >= self.min_interval:
            self._checked_at = now
            self._reload()
        return self._routes

    def track(self, bot: str, platform: str, user_id: str) -> Track:
        return track_for(bot, platform, user_id, self.routes.canary_weight)

    def _reload(self) -> None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except OSError:
            return  # no file yet: keep the last known weight (0 at start)
        stamp = (st.st_ino, st.st_size, st.st_mtime)
        if stamp == self._stamp:
            return
        try:
            self._routes = parse_routes(self.path.read_text(encoding="utf-8"))
            self._stamp = stamp
            log.info("routes loaded", extra={"canary_weight": self._routes.canary_weight})
        except (OSError, ValueError) as exc:  # a half-written or bad file: keep serving the last good one
            log.warning("route file ignored", extra={"error": str(exc)})
