"""The one module that writes: carry out a `policies.children.Plan`, and patch status.

Create when absent, a three-way JSON merge patch (`policies.children`) when our fields drifted or git
dropped some, delete what is no longer rendered. KMock (and older clusters) do not speak server-side
apply, so this is create + merge patch:
a create that loses a race (409) turns into a patch, a patch whose object vanished (404) into a create.
The operator-generated token is written on create only and never patched: once the Secret exists,
its data is never touched again.
"""

import asyncio
import copy
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parley_operator.k8s import errors
from parley_operator.k8s.client import KubeClient
from parley_operator.observed import Ref
from parley_operator.policies import children
from parley_operator.policies.children import Create, Delete, Patch, Plan

CONFLICT_RETRIES = 3


def new_token() -> str:
    return secrets.token_urlsafe(32)


Written = Callable[[Ref, str | None], None]


def _ignore(ref: Ref, version: str | None) -> None:
    return None


@dataclass
class Applied:
    """What a plan changed, and the resourceVersion of every object written (to recognise our own
    writes when they come back as watch events)."""

    created: list[Ref] = field(default_factory=list)
    patched: list[Ref] = field(default_factory=list)
    deleted: list[Ref] = field(default_factory=list)
    versions: dict[Ref, str] = field(default_factory=dict)
    # Told of every write as soon as it is answered (resourceVersion; None for a delete).
    on_write: Written = _ignore

    @property
    def changed(self) -> bool:
        return bool(self.created or self.patched or self.deleted)


def _version(obj: Mapping[str, Any]) -> str | None:
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    return str(rv) if rv is not None else None


async def _create(client: KubeClient, action: Create, applied: Applied, token: Callable[[], str]) -> None:
    body = copy.deepcopy(dict(action.body))
    if action.generate_token:
        body["stringData"] = {"token": token()}
    try:
        written = await client.create(body)
    except errors.Conflict:
        # Created by someone else since we looked: converge it like any existing object.
        live = await client.get(action.ref)
        if live is None:
            raise
        patch = children.three_way_patch(live, action.body, children.last_applied(live))
        if patch is not None:
            await _patch(client, Patch(action.ref, patch), applied)
        return
    applied.created.append(action.ref)
    if (rv := _version(written)) is not None:
        applied.versions[action.ref] = rv
        applied.on_write(action.ref, rv)


async def _patch(client: KubeClient, action: Patch, applied: Applied) -> None:
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            written = await client.patch(action.ref, action.patch)
        except errors.NotFound:
            return  # deleted since we looked; the next reconcile (its DELETED event) recreates it
        except errors.Conflict:
            if attempt == CONFLICT_RETRIES:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
            continue
        applied.patched.append(action.ref)
        if (rv := _version(written)) is not None:
            applied.versions[action.ref] = rv
            applied.on_write(action.ref, rv)
        return


async def _delete(client: KubeClient, action: Delete, applied: Applied) -> None:
    applied.on_write(action.ref, None)  # before the request: its DELETED event may beat the answer
    if await client.delete(action.ref):
        applied.deleted.append(action.ref)


async def apply_plan(
    client: KubeClient, plan: Plan, *, token: Callable[[], str] = new_token, on_write: Written = _ignore
) -> Applied:
    """Carry out every action concurrently; the first API error is raised after all have finished."""
    applied = Applied(on_write=on_write)
    results = await asyncio.gather(
        *(_create(client, a, applied, token) for a in plan.creates),
        *(_patch(client, a, applied) for a in plan.patches),
        *(_delete(client, a, applied) for a in plan.deletes),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return applied


async def patch_status(client: KubeClient, ref: Ref, patch: Mapping[str, Any] | None) -> bool:
    """Write a status patch computed by `policies.status`; None (no change) writes nothing."""
    if patch is None:
        return False
    await client.patch(ref, patch, subresource="status")
    return True


async def remove_annotations(client: KubeClient, ref: Ref, keys: tuple[str, ...]) -> bool:
    """Drop annotations a person set to ask for something once (`parley.dev/promote`, `…/abort`)."""
    if not keys:
        return False
    try:
        await client.patch(ref, {"metadata": {"annotations": dict.fromkeys(keys)}})
    except errors.NotFound:
        return False
    return True
