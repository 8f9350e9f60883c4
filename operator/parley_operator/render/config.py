"""The runtime's configuration as ConfigMaps, the gray-release routes, and the internal Secret.

`bot.yaml` is the runtime's view of the manifest: status, server metadata and the fields only the
operator acts on (image, scaling, resources, canary) are left out, so editing those does not change
the config checksum and does not restart pods that have no use for them.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from parley_operator.render import plugin_packages, yamltext
from parley_operator.render.meta import Context
from parley_runtime.config.models import ChatBot, PlatformBinding

CONFIG_KEY = "bot.yaml"
ROUTES_KEY = "routes.json"
INTERNAL_TOKEN_KEY = "token"  # noqa: S105 - the key name in the Secret, not a value
OPERATOR_ONLY_FIELDS = ("image", "scaling", "resources", "canary")


def runtime_documents(
    bot: ChatBot, bindings: Sequence[PlatformBinding], namespace: str, *, version: str | None = None
) -> list[dict[str, Any]]:
    """The ChatBot and its bindings as the runtime loads them (secret values are refs only).

    Defaults are written out, so the result is the same whether or not the API server filled them in.
    `version` is the stable version when a promotion runs ahead of spec.version in git.
    """
    spec = bot.spec.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude=set(OPERATOR_ONLY_FIELDS)
    )
    if version is not None:
        spec["version"] = version
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": bot.api_version,
            "kind": bot.kind,
            "metadata": {"name": bot.metadata.name, "namespace": namespace},
            "spec": spec,
        }
    ]
    for binding in bindings:
        docs.append(
            {
                "apiVersion": binding.api_version,
                "kind": binding.kind,
                "metadata": {"name": binding.metadata.name, "namespace": namespace},
                "spec": binding.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
        )
    return docs


def config_data(
    bot: ChatBot, bindings: Sequence[PlatformBinding], namespace: str, *, version: str | None = None
) -> dict[str, str]:
    docs = runtime_documents(bot, bindings, namespace, version=version)
    return {CONFIG_KEY: yamltext.dump_all(docs, sort_keys=True), **plugin_packages.config_data(bot.spec)}


def config_map(
    ctx: Context, name: str, component: str, data: dict[str, str], *, track: str | None = None
) -> dict[str, Any]:
    """The runtime's config (`names.config`, component `config`; the canary's own `names.canary_config`
    with `track` canary) or the gateway's routes (`names.routes`, component `routes`)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": ctx.metadata(name, component, track=track),
        "data": data,
    }


def routes_data(bot: ChatBot, canary_weight: int, *, stable_version: str | None = None) -> dict[str, str]:
    """What the gateway's gray release reads; the weight is 0 whenever there is no canary. A canary
    of config alone runs the stable version."""
    canary = bot.spec.canary
    stable = stable_version or bot.spec.version
    routes = {
        "bot": bot.metadata.name,
        "stableVersion": stable,
        "canaryVersion": (canary.version or stable) if canary is not None else None,
        "canaryWeight": canary_weight if canary is not None else 0,
    }
    return {ROUTES_KEY: json.dumps(routes)}


def internal_secret(ctx: Context) -> dict[str, Any]:
    """Rendered without data: the operator adds `stringData.token` once, on create, and never again."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": ctx.metadata(ctx.names.internal_secret, "credentials"),
        "type": "Opaque",
    }


def secrets_checksum(digests: Mapping[str, str], secret_names: Sequence[str]) -> str:
    """sha256 over the data hashes (`k8s.gather.secret_digest`, never the data) of `secret_names`; a
    Secret not read (or absent) counts as empty, so the value changes when it appears or rotates."""
    blob = json.dumps([[name, digests.get(name, "")] for name in sorted(secret_names)])
    return hashlib.sha256(blob.encode()).hexdigest()


def checksum(data: dict[str, str], secret_names: Sequence[str]) -> str:
    """sha256 over the config data and the mounted Secrets' names (not their values: we never read them)."""
    blob = json.dumps({"data": data, "secrets": sorted(secret_names)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()
