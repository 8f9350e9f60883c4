"""`status.history`: the last revisions the stable track ran, enough to recognise a revert and to roll
back to one.

A revision is appended whenever what the stable track runs (version + config hash) changes: a
promotion, a change of spec.version or of the config without a canary, a revert, a rollback. The last
`KEEP` are kept, numbered on from the last one (like a Deployment's revisions, a return to an old
release is a new number).

Where the config lives (the choice, see docs/gitops.md "Revisions"): in status, beside each revision —
`config`, the JSON form of `persona`, `models` and `plugins`. Route keys there are `secretKeyRef`s, so
no secret value is ever stored; three copies of a prompt are small next to the 1.5 MiB an object may
hold, and status cannot be deleted apart from the bot the way an extra ConfigMap could. The config is
what `parley rollback` writes back into the spec.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parley_operator.release import Release

__all__ = ["KEEP", "History", "Revision", "earlier", "find", "read", "record", "to_status"]

KEEP = 3


@dataclass(frozen=True)
class Revision:
    revision: int
    version: str
    config_hash: str
    promoted_at: str
    cause: str
    config: Mapping[str, Any]

    @property
    def release(self) -> Release:
        return Release(self.version, self.config)

    def matches(self, release: Release) -> bool:
        return self.version == release.version and self.config_hash == release.config_hash

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "version": self.version,
            "configHash": self.config_hash,
            "promotedAt": self.promoted_at,
            "cause": self.cause,
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, data: Any) -> "Revision | None":
        if not isinstance(data, Mapping):
            return None
        number, version, digest = data.get("revision"), data.get("version"), data.get("configHash")
        config = data.get("config")
        if not isinstance(number, int) or number < 1 or not isinstance(version, str) or not version:
            return None
        if not isinstance(digest, str) or not isinstance(config, Mapping) or "models" not in config:
            return None
        return cls(
            number, version, digest, str(data.get("promotedAt") or ""), str(data.get("cause") or ""), config
        )


History = tuple[Revision, ...]


def read(value: Any) -> History:
    """`status.history` as revisions, oldest first; entries that do not parse are left out."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return ()
    found = (Revision.from_dict(item) for item in value)
    return tuple(sorted((r for r in found if r is not None), key=lambda r: r.revision))


def to_status(history: History) -> list[dict[str, Any]]:
    return [r.to_dict() for r in history]


def find(history: History, number: int) -> Revision | None:
    return next((r for r in history if r.revision == number), None)


def earlier(history: History, release: Release) -> Revision | None:
    """The latest revision before the current one that ran `release`: a spec that returns to it is a
    revert (None when `release` is what runs now, or was never recorded)."""
    if history and history[-1].matches(release):
        return None
    return next((r for r in reversed(history) if r.matches(release)), None)


def record(history: History, release: Release, *, now: str, cause: str | None = None) -> History:
    """`history` with `release` appended when the stable track now runs something else; `cause` says
    why (a promotion, a rollback), else it is read from the spec: a revert or a plain change."""
    if history and history[-1].matches(release):
        return history
    if cause is None:
        again = earlier(history, release)
        cause = f"revert to revision {again.revision}" if again is not None else "spec"
    number = history[-1].revision + 1 if history else 1
    added = Revision(number, release.version, release.config_hash, now, cause, dict(release.config))
    return (*history, added)[-KEEP:]
