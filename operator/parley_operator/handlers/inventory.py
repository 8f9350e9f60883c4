"""What the watches on owned Deployments, HPAs, PDBs and Services have shown, kept in memory.

Two uses: (1) the owned objects a ChatBot no longer renders (e.g. the canary's after `spec.canary`
is removed) are found here and deleted, without listing every namespace on every reconcile;
(2) a watch event for an object whose resourceVersion is the one we just wrote is our own echo and
must not trigger another reconcile, while anyone else's edit or delete must (drift repair).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from parley_operator.observed import Ref

BotKey = tuple[str, str]  # (namespace, ChatBot name)


def controller_of(body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, uid) of the ChatBot that controls this object, if any."""
    for owner in (body.get("metadata") or {}).get("ownerReferences") or ():
        if owner.get("kind") == "ChatBot" and owner.get("controller"):
            return str(owner.get("name")), str(owner.get("uid"))
    return None


@dataclass(frozen=True)
class Trigger:
    """A watch event that may call for a reconcile of `bot`, unless it turns out to be our own write."""

    bot: BotKey
    ref: Ref
    version: str
    deleted: bool


class Inventory:
    def __init__(self) -> None:
        self._owned: dict[BotKey, dict[Ref, str]] = {}  # → owner uid
        self._written: dict[Ref, str] = {}  # → resourceVersion of our last write
        self._deleted: set[Ref] = set()

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> Trigger | None:
        """Record one watch event; a Trigger when it may call for a reconcile."""
        owner = controller_of(body)
        if owner is None:
            return None
        ref = Ref.of(body)
        key = (ref.namespace, owner[0])
        rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
        if event_type == "DELETED":
            self._owned.get(key, {}).pop(ref, None)
            self._written.pop(ref, None)
            trigger = Trigger(key, ref, rv, deleted=True)
        else:
            self._owned.setdefault(key, {})[ref] = owner[1]
            if event_type is None:
                return None  # the initial listing: resume handlers reconcile every bot anyway
            trigger = Trigger(key, ref, rv, deleted=False)
        return None if self.is_own(trigger) else trigger

    def is_own(self, trigger: Trigger) -> bool:
        """Whether the event is the echo of our own write (it may arrive before we record the write)."""
        if trigger.deleted:
            if trigger.ref in self._deleted:
                self._deleted.discard(trigger.ref)
                return True
            return False
        return self._written.get(trigger.ref) == trigger.version

    def owned(self, namespace: str, bot: str, uid: str | None) -> set[Ref]:
        return {
            ref for ref, owner in self._owned.get((namespace, bot), {}).items() if uid is None or owner == uid
        }

    def written(self, ref: Ref, version: str | None) -> None:
        """Called by `apply` right after each write, deletes with version None."""
        if version is None:
            self._deleted.add(ref)
        else:
            self._written[ref] = version

    def forget(self, namespace: str, bot: str) -> None:
        self._owned.pop((namespace, bot), None)


class SecretUsers:
    """Which ChatBots referenced which Secret in their last reconcile: a Secret's watch event (a
    rotation, a Secret that appears or goes) reconciles exactly those bots."""

    def __init__(self) -> None:
        self._bots: dict[tuple[str, str], set[str]] = {}
        self._secrets: dict[BotKey, frozenset[str]] = {}

    def note(self, namespace: str, bot: str, secrets: Iterable[str]) -> None:
        now = frozenset(secrets)
        before = self._secrets.get((namespace, bot), frozenset())
        for name in before - now:
            users = self._bots.get((namespace, name))
            if users is not None:
                users.discard(bot)
                if not users:
                    del self._bots[(namespace, name)]
        for name in now - before:
            self._bots.setdefault((namespace, name), set()).add(bot)
        self._secrets[(namespace, bot)] = now

    def forget(self, namespace: str, bot: str) -> None:
        self.note(namespace, bot, ())
        self._secrets.pop((namespace, bot), None)

    def bots(self, namespace: str, secret: str) -> list[str]:
        return sorted(self._bots.get((namespace, secret), ()))
