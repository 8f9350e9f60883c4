"""`render_bot`: every object for one ChatBot, sorted by kind then name."""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from parley_operator import release
from parley_operator.release import Release
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
    (and the bot with the promoted config) while git still says the old one, and the later change of
    the spec in git renders the same.

    With `spec.canary`, the canary engine runs its own config, `<bot>-canary-config`: the stable
    config with the canary's fields (version, persona, models, plugins) laid over it, mounting the
    Secrets that config names.
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
        (names.gateway, spec, pod("gateway", None, stable)),
        (names.engine, spec, pod("engine", "stable", stable)),
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
        canary = canary_bot(bot, stable)
        canary_data = config.config_data(canary, mine, namespace)
        canary_secrets = sorted({*volumes.user_secret_names(canary, mine), names.internal_secret})
        version = canary.spec.version
        canary_pod = pods.PodInput(
            "engine",
            "canary",
            f"{repo}:{version}",
            version,
            config.checksum(canary_data, canary_secrets),
            canary_secrets,
            config.secrets_checksum(digests, [s for s in canary_secrets if s != names.internal_secret]),
            config_map=names.canary_config,
        )
        workloads.append((names.canary, canary.spec, canary_pod))
        objects.append(config.config_map(ctx, names.canary_config, "config", canary_data, track="canary"))
        objects.append(services.canary_service(ctx))
    for name, workload_spec, p in workloads:
        objects.append(deployments.deployment(ctx, workload_spec, name, p))
        objects.append(autoscaling.hpa(ctx, spec.scaling, name, p.role, p.version, p.track))
        objects.append(autoscaling.pdb(ctx, name, p.role, p.version, p.track))
    return sort_objects(objects)


def canary_bot(bot: ChatBot, stable_version: str | None = None) -> ChatBot:
    """What the canary engine runs: `bot` (at `stable_version`) with its canary's fields laid over."""
    canary = bot.spec.canary
    if canary is None:
        raise ValueError("canary_bot needs a bot with spec.canary")
    stable = Release.of(bot.spec)
    if stable_version is not None:
        stable = Release(stable_version, stable.config)
    return stable.over(release.overlay_of(canary)).apply_to(bot)


def sort_objects(objects: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objects, key=lambda o: (str(o["kind"]), str(o["metadata"]["name"])))
