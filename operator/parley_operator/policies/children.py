"""Desired objects vs live objects → what to create, patch and delete.

Why "covers" rather than equality: the API server fills defaults (`imagePullPolicy`, `protocol`,
`terminationMessagePath`…) into the objects we wrote, also inside lists. An object is up to date when
every field we render is present with our value; only then is a reconcile a no-op.

Why three ways: what git no longer says must leave the live object, but what others wrote must stay
(annotations of other tools, an HPA's `replicas`, sidecars injected by admission webhooks, server
defaults). Each object we write carries what we rendered last (`parley.dev/last-applied`, as
`kubectl apply` keeps its own record); a field in that record and no longer rendered is ours to
remove, a field in neither is someone else's. The patch is a JSON merge patch (KMock and every API
server speak it): maps merge key by key, `null` removes; lists whose items have a `name`
(containers, env, volumes, ports…) are merged by name client-side and sent whole, keeping items
nobody rendered; other lists are ours whole.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parley_operator.observed import Observed, Ref

LAST_APPLIED = "parley.dev/last-applied"


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


def _named(items: Any) -> dict[str, Mapping[str, Any]] | None:
    """Items by `name` when `items` is a list of named objects with unique names, else None."""
    if not isinstance(items, list) or not items:
        return None
    named: dict[str, Mapping[str, Any]] = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or item["name"] in named:
            return None
        named[item["name"]] = item
    return named


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """`target` after a JSON merge patch (RFC 7396): what the server will hold."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_merge_patch(out.get(key), value)
    return out


def _merged_list(live: list[Any], desired: list[Any], last: Any) -> list[Any]:
    """Named items: ours merged three ways in our order, then the ones only others wrote."""
    want = _named(desired) or {}
    had = _named(last) or {}
    have = _named(live) or {}
    merged: list[Any] = []
    for name, item in want.items():
        if name in have:
            patch = three_way_patch(have[name], item, had.get(name, {}))
            merged.append(apply_merge_patch(have[name], patch) if patch else have[name])
        else:
            merged.append(item)
    merged += [item for name, item in have.items() if name not in want and name not in had]
    return merged


def three_way_patch(
    live: Mapping[str, Any], desired: Mapping[str, Any], last: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The JSON merge patch after which `live` covers `desired` and holds nothing of `last` that
    `desired` dropped; None when there is nothing to change."""
    out: dict[str, Any] = {}
    for key, want in desired.items():
        have = live.get(key)
        before = last.get(key) if isinstance(last, Mapping) else None
        if isinstance(want, Mapping) and isinstance(have, Mapping):
            sub = three_way_patch(have, want, before if isinstance(before, Mapping) else {})
            if sub is not None:
                out[key] = sub
        elif isinstance(want, list) and isinstance(have, list) and _named(want) is not None and _named(have):
            merged = _merged_list(have, want, before)
            if merged != have:
                out[key] = merged
        elif key not in live or not covers(have, want):
            out[key] = want
    if isinstance(last, Mapping):
        out.update({key: None for key in last if key not in desired and key in live})
    return out or None


def recorded(body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` carrying itself as the last-applied record (Secrets never do: no data in annotations)."""
    if body.get("kind") == "Secret":
        return dict(body)
    meta = dict(body.get("metadata") or {})
    record = json.dumps(body, sort_keys=True, separators=(",", ":"))
    meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: record}
    return {**body, "metadata": meta}


def last_applied(live: Mapping[str, Any]) -> dict[str, Any]:
    """What we rendered when we last wrote `live`; empty for objects written before the record."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not isinstance(text, str):
        return {}
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def plan(desired: Sequence[Mapping[str, Any]], observed: Observed, *, token_secret: str) -> Plan:
    """Create what is absent, patch what drifted or what git dropped, delete what is owned but no
    longer rendered."""
    creates: list[Create] = []
    patches: list[Patch] = []
    wanted: set[Ref] = set()
    for rendered in desired:
        body = recorded(rendered)
        ref = Ref.of(body)
        wanted.add(ref)
        live = observed.children.get(ref)
        if live is None:
            is_token = ref.kind == "Secret" and ref.name == token_secret
            creates.append(Create(ref, body, generate_token=is_token))
            continue
        patch = three_way_patch(live, body, last_applied(live))
        if patch is not None:
            patches.append(Patch(ref, patch))
    deletes = tuple(Delete(ref) for ref in sorted(set(observed.stale) - wanted))
    return Plan(tuple(creates), tuple(patches), deletes)
