"""The init container that installs a bot's plugin packages (`spec.plugins[].package`) with pip.

Engine pods only: the gateway loads no plugins. The init container runs pip from the same runtime
image (`pip` on its PATH: the image's runtime virtualenv carries none, the base Python does) into an
emptyDir that the runtime container mounts read-only and finds through `PARLEY_PLUGIN_PACKAGES_DIR`.
Both keep a read-only root filesystem: pip's HOME and TMPDIR are the pod's `/tmp` emptyDir and its
cache is off. The index URL reaches pip as `PIP_INDEX_URL` from its Secret, so the URL is never in
the pod spec; hashes need a requirements file, which travels in the config ConfigMap.

When pip fails, the pod stays in its init phase (the kubelet retries with back-off), the runtime
never starts without its plugins, and the operator reports `PluginInstallFailed` (policies.status).
The options match what `parley serve` passes (`parley_runtime.plugins.packages`; a test compares),
plus `--upgrade`, so that a retry in the same pod replaces what a failed attempt left behind.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from parley_runtime.config.models import ChatBotSpec, PluginSpec

INIT_CONTAINER = "plugin-packages"
VOLUME = "plugin-packages"
PACKAGES_DIR = "/opt/parley-plugins"
REQUIREMENTS_KEY = "plugin-requirements.txt"
ENV = "PARLEY_PLUGIN_PACKAGES_DIR"
PIP_OPTIONS = ("--disable-pip-version-check", "--no-input", "--no-warn-script-location")
HASH_OPTIONS = ("--require-hashes", "--no-deps")


def wanted(spec: ChatBotSpec) -> list[PluginSpec]:
    """The enabled plugins that come from a package (as the runtime counts them)."""
    return [p for p in spec.plugins if p.enabled and p.package is not None]


def hashed(spec: ChatBotSpec) -> bool:
    return any(p.hashes for p in wanted(spec))


def config_data(spec: ChatBotSpec) -> dict[str, str]:
    """The requirements file for the config ConfigMap: only when hashes need one."""
    if not hashed(spec):
        return {}
    return {REQUIREMENTS_KEY: "".join(f"{p.requirement}\n" for p in wanted(spec))}


def pip_args(spec: ChatBotSpec, config_dir: str) -> list[str]:
    """`pip install ...`: the pinned packages on the command line (`kubectl describe` shows them),
    or the requirements file in hash-checking mode, where each line carries its hashes."""
    args = ["install", "--no-cache-dir", "--upgrade", *PIP_OPTIONS, "--target", PACKAGES_DIR]
    if hashed(spec):
        return [*args, *HASH_OPTIONS, "-r", f"{config_dir}/{REQUIREMENTS_KEY}"]
    return [*args, *(p.package or "" for p in wanted(spec))]


def init_container(
    spec: ChatBotSpec,
    *,
    image: str,
    resources: dict[str, Any],
    security_context: dict[str, Any],
    config_dir: str,
    tmp_dir: str,
) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": "HOME", "value": tmp_dir},
        {"name": "TMPDIR", "value": tmp_dir},
    ]
    index = next((p.index for p in wanted(spec) if p.index is not None), None)
    if index is not None:
        ref = index.secret_key_ref
        env.append(
            {"name": "PIP_INDEX_URL", "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
        )
    mounts: list[dict[str, Any]] = [
        {"name": VOLUME, "mountPath": PACKAGES_DIR},
        {"name": "tmp", "mountPath": tmp_dir},
    ]
    if hashed(spec):
        mounts.append({"name": "config", "mountPath": config_dir, "readOnly": True})
    return {
        "name": INIT_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["pip"],
        "args": pip_args(spec, config_dir),
        "env": sorted(env, key=lambda e: str(e["name"])),
        "resources": resources,
        "securityContext": security_context,
        # pip's last lines become the termination message, which PluginInstallFailed quotes.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": sorted(mounts, key=lambda m: str(m["name"])),
    }


def volume() -> dict[str, Any]:
    return {"name": VOLUME, "emptyDir": {}}


def runtime_mount() -> dict[str, Any]:
    """How the runtime container sees the packages: read-only, nothing it runs can change them."""
    return {"name": VOLUME, "mountPath": PACKAGES_DIR, "readOnly": True}


def runtime_env() -> dict[str, Any]:
    return {"name": ENV, "value": PACKAGES_DIR}


def installs(objects: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any rendered workload (stable or canary engine) installs plugin packages: the operator
    then reads the engine pods to report a failed install."""
    for obj in objects:
        pod_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        if any(c.get("name") == INIT_CONTAINER for c in pod_spec.get("initContainers") or ()):
            return True
    return False
