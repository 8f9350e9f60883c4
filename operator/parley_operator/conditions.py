"""kstatus-compatible status conditions (`Ready`, `Reconciling`, `Stalled`), as pure functions.

Why a module of its own: both the ChatBot and the PlatformBinding status use it, and the only
subtle rule — `lastTransitionTime` moves only when a condition's status flips — must live once.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
PAUSED = "ReconciliationPaused"  # only present while `parley.dev/paused: "true"` holds the bot

Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    """One condition as decided by a policy, before timestamps are attached."""

    type: str
    status: Status
    reason: str
    message: str = ""


def truth(flag: bool) -> Status:
    return "True" if flag else "False"


def merge(
    previous: Sequence[Mapping[str, Any]] | None,
    wanted: Iterable[Condition],
    *,
    now: str,
    generation: int | None,
) -> list[dict[str, Any]]:
    """The conditions list to write: `wanted` in order, keeping each one's lastTransitionTime when its
    status did not change, so rewriting an unchanged status is a no-op."""
    before = {str(c.get("type")): c for c in previous or () if isinstance(c, Mapping)}
    out: list[dict[str, Any]] = []
    for cond in wanted:
        old = before.get(cond.type)
        since = old.get("lastTransitionTime") if old and old.get("status") == cond.status else None
        item: dict[str, Any] = {
            "type": cond.type,
            "status": cond.status,
            "reason": cond.reason,
            "message": cond.message,
            "lastTransitionTime": since or now,
        }
        if generation is not None:
            item["observedGeneration"] = generation
        out.append(item)
    return out


def find(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    for cond in conditions or ():
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return None
