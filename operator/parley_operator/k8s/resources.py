"""URL paths of the kinds the operator reads and writes.

An explicit table, not discovery: the operator only ever touches these kinds, and an unknown
kind from a render change should fail loudly rather than guess a plural.
"""

from parley_operator.observed import Ref

PLURALS: dict[str, str] = {
    "ChatBot": "chatbots",
    "PlatformBinding": "platformbindings",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Pod": "pods",  # read only: canary analysis scrapes the engine pods
    "Service": "services",
    "ServiceAccount": "serviceaccounts",
    "Deployment": "deployments",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "NetworkPolicy": "networkpolicies",
    "Role": "roles",
    "RoleBinding": "rolebindings",
}


def collection_path(api_version: str, kind: str, namespace: str) -> str:
    try:
        plural = PLURALS[kind]
    except KeyError:
        raise ValueError(f"the operator does not manage kind {kind}") from None
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{root}/namespaces/{namespace}/{plural}"


def object_path(ref: Ref, subresource: str | None = None) -> str:
    path = f"{collection_path(ref.api_version, ref.kind, ref.namespace)}/{ref.name}"
    return f"{path}/{subresource}" if subresource else path
