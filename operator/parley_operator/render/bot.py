"""`render_bot`: every object for one ChatBot, sorted by kind then name."""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from parley_operator.render import autoscaling, config, deployments, network, pods, rbac, services, volumes
from parley_operator.render.errors import RenderError
from parley_operator.render.meta import Context, Names, OwnerRef
from parley_runtime.config.models import ChatBot, PlatformBinding

DEFAULT_IMAGE = "ghcr.io/parley-dev/parley-runtime"


def image_repository(bot: ChatBot, image: str | None) -> str:
    """`image` (an operator or CLI override), else `spec.image`, else the built-in repository."""
    repo = image or bot.spec.image or DEFAULT_IMAGE
    field = "--image" if image else "spec.image"
    last = repo.rsplit("/", 1)[-1]
    if not repo or "@" in repo or ":" in last or re.search(r"\s", repo):
        raise RenderError(f"{field}: {repo!r} must be an image repository without tag or digest")
    return repo


def render_bot(
    bot: ChatBot,
    bindings: Sequence[PlatformBinding],
    *,
    namespace: str,
    image: str | None = None,
    canary_weight: int = 0,
    owner: OwnerRef | None = None,
    stable_version: str | None = None,
    secret_digests: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The objects that run `bot`; bindings of other bots are ignored.

    `canary_weight` (0-100) only reaches the routes ConfigMap, which is excluded from the pods'
    checksum: moving a canary step never restarts pods. `stable_version` (default spec.version) is
    what the gateway and stable engine run: after a promotion the operator passes the promoted version
    while git still says the old one, and the later change of spec.version in git renders the same.
    """
    if not 0 <= canary_weight <= 100:
        raise RenderError(f"canary weight {canary_weight} must be between 0 and 100")
    spec = bot.spec
    stable = stable_version or spec.version
    names = Names(bot.metadata.name)
    ctx = Context(names=names, namespace=namespace, version=stable, owner=owner)
    mine = sorted((b for b in bindings if b.spec.bot_ref.name == names.bot), key=lambda b: b.metadata.name)
    repo = image_repository(bot, image)

    config_data = config.config_data(bot, mine, namespace, version=stable)
    engine_secrets = sorted({*volumes.user_secret_names(bot, mine), names.internal_secret})
    # The gateway neither calls models nor answers the chat API: no model keys, no API token.
    gateway_secrets = sorted({*volumes.gateway_secret_names(bot, mine), names.internal_secret})
    checksum = config.checksum(config_data, engine_secrets)
    digests = secret_digests or {}
    # The internal Secret is left out: it is written once, and its first appearance must not roll pods.
    rotated = {
        role: config.secrets_checksum(digests, [s for s in secrets if s != names.internal_secret])
        for role, secrets in (("gateway", gateway_secrets), ("engine", engine_secrets))
    }

    def pod(role: pods.Role, track: pods.Track | None, version: str) -> pods.PodInput:
        secrets = gateway_secrets if role == "gateway" else engine_secrets
        return pods.PodInput(role, track, f"{repo}:{version}", version, checksum, secrets, rotated[role])

    workloads = [
        (names.gateway, pod("gateway", None, stable)),
        (names.engine, pod("engine", "stable", stable)),
    ]
    objects = [
        rbac.service_account(ctx),
        rbac.gateway_role(ctx),
        rbac.gateway_role_binding(ctx),
        config.config_map(ctx, names.config, "config", config_data),
        config.config_map(
            ctx, names.routes, "routes", config.routes_data(bot, canary_weight, stable_version=stable)
        ),
        config.internal_secret(ctx),
        services.gateway_service(ctx),
        services.engine_service(ctx),
    ]
    if spec.network_policy:
        objects += [network.gateway_policy(ctx), network.engine_policy(ctx)]
    if spec.canary is not None:
        workloads.append((names.canary, pod("engine", "canary", spec.canary.version)))
        objects.append(services.canary_service(ctx))
    for name, p in workloads:
        objects.append(deployments.deployment(ctx, spec, name, p))
        objects.append(autoscaling.hpa(ctx, spec.scaling, name, p.role, p.version, p.track))
        objects.append(autoscaling.pdb(ctx, name, p.role, p.version, p.track))
    return sort_objects(objects)


def sort_objects(objects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objects, key=lambda o: (str(o["kind"]), str(o["metadata"]["name"])))
