"""The one format of every time the operator writes: conditions' `lastTransitionTime` and the canary
record's `startedAt`, `stepStartedAt` and `analysis.since` — RFC 3339 in UTC, whole seconds, `Z`.

Pure: formatting and parsing only. The clock is read by the caller (`stamp(time.time())`) and passed
down as a string, so decisions stay functions of their inputs.
"""

import time
from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def stamp(epoch: float) -> str:
    return time.strftime(FORMAT, time.gmtime(epoch))


def seconds(text: str | None) -> float | None:
    """Epoch seconds of a stamp as the operator writes it; None if it is not one."""
    if not text:
        return None
    try:
        return datetime.strptime(text, FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
