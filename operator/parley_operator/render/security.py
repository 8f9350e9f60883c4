"""Pod and container security settings (Pod Security Standards "restricted")."""

from typing import Any

RUN_AS = 10001


def _non_root() -> dict[str, Any]:
    """The one user and group every pod and container runs as."""
    return {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS}


def pod_security_context() -> dict[str, Any]:
    return {**_non_root(), "fsGroup": RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        **_non_root(),
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
