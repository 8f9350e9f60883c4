"""The bot's ServiceAccount, and the gateway's right to hold its Lease and nothing more."""

from typing import Any

from parley_operator.render.meta import Context


def service_account(ctx: Context) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": ctx.metadata(ctx.names.service_account, "bot"),
        "automountServiceAccountToken": False,
    }


def gateway_role(ctx: Context) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": ctx.metadata(ctx.names.gateway, "gateway"),
        "rules": [
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["get", "create", "update"],
            }
        ],
    }


def gateway_role_binding(ctx: Context) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": ctx.metadata(ctx.names.gateway, "gateway"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ctx.names.gateway},
        "subjects": [
            {"kind": "ServiceAccount", "name": ctx.names.service_account, "namespace": ctx.namespace}
        ],
    }
