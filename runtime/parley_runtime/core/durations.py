"""Kubernetes-style durations (`90s`, `10m`, `24h`, `1h30m`) as used in ChatBot specs."""

import functools
import re

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@functools.lru_cache(maxsize=256)  # specs name a handful of durations; some are read per message
def parse_duration(text: str) -> float:
    """Seconds in `text`; raises ValueError for anything that is not a duration."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 24h)")
    return sum(float(num) * _UNIT_SECONDS[unit] for num, unit in _PART.findall(text))
