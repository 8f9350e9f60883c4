"""Read what a reconcile needs, concurrently, into plain values for `observed`.

Secrets are read for their key NAMES only: the values are dropped as soon as the response is
parsed and never reach `Observed`, a log line or an exception.
"""

import asyncio
from collections.abc import Iterable
from typing import Any

from parley_operator.k8s.client import KubeClient
from parley_operator.observed import Ref, bot_ref


async def read_bot(client: KubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    return await client.get(bot_ref(namespace, name))


async def _secret_keys(client: KubeClient, namespace: str, name: str) -> frozenset[str] | None:
    secret = await client.get(Ref("v1", "Secret", namespace, name))
    if secret is None:
        return None
    return frozenset((secret.get("data") or {}).keys()) | frozenset((secret.get("stringData") or {}).keys())


async def read_secret_keys(
    client: KubeClient, namespace: str, names: Iterable[str]
) -> dict[str, frozenset[str] | None]:
    names = list(names)
    found = await asyncio.gather(*(_secret_keys(client, namespace, n) for n in names))
    return dict(zip(names, found, strict=True))


async def read_objects(client: KubeClient, refs: Iterable[Ref]) -> dict[Ref, dict[str, Any] | None]:
    refs = list(refs)
    found = await asyncio.gather(*(client.get(r) for r in refs))
    return dict(zip(refs, found, strict=True))
