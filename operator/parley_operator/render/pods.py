"""Pod templates for the two runtime roles: `parley gateway` and `parley engine --track T`."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from parley_operator.render import plugin_packages, security, volumes
from parley_operator.render.config import CONFIG_KEY, INTERNAL_TOKEN_KEY, ROUTES_KEY
from parley_operator.render.meta import CHECKSUM_ANNOTATION, SECRETS_CHECKSUM_ANNOTATION, Context, labels
from parley_runtime.config.models import ChatBotSpec

HTTP_PORT = 8080
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
CONTAINER = "parley"

Role = Literal["gateway", "engine"]
Track = Literal["stable", "canary"]


@dataclass(frozen=True)
class PodInput:
    """Everything that varies between the gateway, stable engine and canary engine pods."""

    role: Role
    track: Track | None  # None for the gateway, which serves both tracks
    image: str
    version: str
    checksum: str
    secret_names: Sequence[str]  # user Secrets plus the internal one, sorted
    # A hash over the data hashes of the user Secrets this pod mounts: a rotation rolls these pods only.
    secrets_checksum: str = ""
    config_map: str | None = None  # the ConfigMap mounted as the config (None: the bot's, `names.config`)


def resources(spec: ChatBotSpec) -> dict[str, Any]:
    """`spec.resources` over the default requests: the HPA's CPU target needs a CPU request."""
    requests = dict(DEFAULT_REQUESTS)
    requests.update({str(k): v for k, v in spec.resources.requests.items()})
    out: dict[str, Any] = {"requests": dict(sorted(requests.items()))}
    if spec.resources.limits:
        out["limits"] = dict(sorted(spec.resources.limits.items()))
    return out


def _env(ctx: Context, spec: ChatBotSpec, pod: PodInput) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "PARLEY_BOT_NAME", "value": ctx.names.bot},
        {"name": "PARLEY_DATA_DIR", "value": volumes.DATA_DIR},
        {
            "name": "PARLEY_INTERNAL_TOKEN_FILE",
            "value": f"{volumes.secret_dir(ctx.names.internal_secret)}/{INTERNAL_TOKEN_KEY}",
        },
        {"name": "PARLEY_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "PARLEY_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "PARLEY_SECRETS_DIR", "value": volumes.SECRETS_DIR},
    ]
    if spec.redis is not None:
        ref = spec.redis.url.secret_key_ref
        env.append({"name": "PARLEY_REDIS_URL_FILE", "value": f"{volumes.secret_dir(ref.name)}/{ref.key}"})
    if pod.role == "gateway":
        env.append({"name": "PARLEY_ROUTE_FILE", "value": f"{volumes.ROUTES_DIR}/{ROUTES_KEY}"})
    else:
        env.append({"name": "PARLEY_TRACK", "value": pod.track or "stable"})
        if plugin_packages.wanted(spec):
            env.append(plugin_packages.runtime_env())
    return sorted(env, key=lambda e: str(e["name"]))


def _args(pod: PodInput) -> list[str]:
    args = [pod.role, "-f", f"{volumes.CONFIG_DIR}/{CONFIG_KEY}"]
    if pod.role == "engine":
        args += ["--track", pod.track or "stable"]
    return args


def _probe(path: str, period: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }


def pod_template(ctx: Context, spec: ChatBotSpec, pod: PodInput, match: dict[str, str]) -> dict[str, Any]:
    with_routes = pod.role == "gateway"
    pod_volumes = volumes.volumes(
        ctx.names, pod.secret_names, with_routes=with_routes, config_map=pod.config_map
    )
    mounts = volumes.mounts(pod.secret_names, with_routes=with_routes)
    init_containers = []
    if pod.role == "engine" and plugin_packages.wanted(spec):
        init_containers.append(
            plugin_packages.init_container(
                spec,
                image=pod.image,
                resources=resources(spec),
                security_context=security.container_security_context(),
                config_dir=volumes.CONFIG_DIR,
                tmp_dir=volumes.TMP_DIR,
            )
        )
        pod_volumes = sorted([*pod_volumes, plugin_packages.volume()], key=lambda v: str(v["name"]))
        mounts = sorted([*mounts, plugin_packages.runtime_mount()], key=lambda m: str(m["name"]))
    container = {
        "name": CONTAINER,
        "image": pod.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["parley"],
        "args": _args(pod),
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": _env(ctx, spec, pod),
        "resources": resources(spec),
        "livenessProbe": _probe("/health", 10),
        "readinessProbe": _probe("/ready", 5),
        "securityContext": security.container_security_context(),
        "volumeMounts": mounts,
    }
    template_labels = labels(ctx.names.bot, pod.role, pod.version, pod.track)
    return {
        "metadata": {
            "labels": template_labels,
            "annotations": {
                CHECKSUM_ANNOTATION: pod.checksum,
                SECRETS_CHECKSUM_ANNOTATION: pod.secrets_checksum,
                "kubectl.kubernetes.io/default-container": CONTAINER,
            },
        },
        "spec": {
            "serviceAccountName": ctx.names.service_account,
            # Only the gateway talks to the API server (its Lease for long-lived platform connections).
            "automountServiceAccountToken": pod.role == "gateway",
            "enableServiceLinks": False,
            "securityContext": security.pod_security_context(),
            "terminationGracePeriodSeconds": 30,
            **({"initContainers": init_containers} if init_containers else {}),
            "containers": [container],
            "volumes": pod_volumes,
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": dict(match)},
                }
            ],
        },
    }
