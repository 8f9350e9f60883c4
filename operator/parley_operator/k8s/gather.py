"""Read what a reconcile needs, concurrently, into plain values for `observed`.

Secrets are read for their key NAMES and a digest of their data only: the values are dropped as
soon as the response is parsed and never reach `Observed`, a log line or an exception.
"""

import asyncio
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from parley_operator.k8s.client import KubeClient
from parley_operator.observed import Ref, bot_ref


async def read_bot(client: KubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    return await client.get(bot_ref(namespace, name))


def secret_digest(secret: Mapping[str, Any]) -> str:
    """sha256 of a Secret's data: what pods are rolled by when it rotates. The data itself is never
    kept, logged or written anywhere."""
    data = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


async def _secret(client: KubeClient, namespace: str, name: str) -> tuple[frozenset[str] | None, str]:
    secret = await client.get(Ref("v1", "Secret", namespace, name))
    if secret is None:
        return None, ""
    keys = frozenset((secret.get("data") or {}).keys()) | frozenset((secret.get("stringData") or {}).keys())
    return keys, secret_digest(secret)


async def read_secrets(
    client: KubeClient, namespace: str, names: Iterable[str]
) -> tuple[dict[str, frozenset[str] | None], dict[str, str]]:
    """Each Secret's key names (None when it does not exist) and the digest of its data."""
    names = list(names)
    found = await asyncio.gather(*(_secret(client, namespace, n) for n in names))
    keys = {name: k for name, (k, _) in zip(names, found, strict=True)}
    digests = {name: d for name, (k, d) in zip(names, found, strict=True) if k is not None}
    return keys, digests


async def read_objects(client: KubeClient, refs: Iterable[Ref]) -> dict[Ref, dict[str, Any] | None]:
    refs = list(refs)
    found = await asyncio.gather(*(client.get(r) for r in refs))
    return dict(zip(refs, found, strict=True))


async def read_engine_pods(client: KubeClient, namespace: str, bot: str) -> tuple[dict[str, Any], ...]:
    """The bot's engine pods of both tracks, for the state of their plugin install (init container)."""
    labels = {"app.kubernetes.io/instance": bot, "app.kubernetes.io/component": "engine"}
    return tuple(await client.list("v1", "Pod", namespace, labels=labels))
