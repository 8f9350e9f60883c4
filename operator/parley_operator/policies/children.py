"""Desired objects vs live objects → what to create, patch and delete.

Why "covers" rather than equality: the API server fills defaults (`imagePullPolicy`, `protocol`,
`terminationMessagePath`…) into the objects we wrote, also inside lists. An object is up to date when
every field we render is present with our value; only then is a reconcile a no-op. A patch carries
only the fields we own that differ (a JSON merge patch; lists are replaced whole, as merge patch does).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parley_operator.observed import Observed, Ref


@dataclass(frozen=True)
class Create:
    ref: Ref
    body: Mapping[str, Any]
    # The operator-generated Secret gets its token on create, and only then.
    generate_token: bool = False


@dataclass(frozen=True)
class Patch:
    ref: Ref
    patch: Mapping[str, Any]


@dataclass(frozen=True)
class Delete:
    ref: Ref


@dataclass(frozen=True)
class Plan:
    creates: tuple[Create, ...] = ()
    patches: tuple[Patch, ...] = ()
    deletes: tuple[Delete, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.creates or self.patches or self.deletes)


def covers(live: Any, desired: Any) -> bool:
    """Whether `live` holds every field of `desired` with the same value."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(k in live and covers(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(covers(a, b) for a, b in zip(live, desired, strict=True))
        )
    return bool(live == desired)


def merge_patch(live: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any] | None:
    """The smallest JSON merge patch after which `live` covers `desired`; None when it already does."""
    out: dict[str, Any] = {}
    for key, want in desired.items():
        have = live.get(key)
        if key in live and covers(have, want):
            continue
        if isinstance(want, Mapping) and isinstance(have, Mapping):
            out[key] = merge_patch(have, want)
        else:
            out[key] = want
    return out or None


def plan(desired: Sequence[Mapping[str, Any]], observed: Observed, *, token_secret: str) -> Plan:
    """Create what is absent, patch what drifted, delete what is owned but no longer rendered."""
    creates: list[Create] = []
    patches: list[Patch] = []
    wanted: set[Ref] = set()
    for body in desired:
        ref = Ref.of(body)
        wanted.add(ref)
        live = observed.children.get(ref)
        if live is None:
            is_token = ref.kind == "Secret" and ref.name == token_secret
            creates.append(Create(ref, body, generate_token=is_token))
            continue
        patch = merge_patch(live, body)
        if patch is not None:
            patches.append(Patch(ref, patch))
    deletes = tuple(Delete(ref) for ref in sorted(set(observed.stale) - wanted))
    return Plan(tuple(creates), tuple(patches), deletes)
