"""kopf handlers: the top layer of the operator.

Rule: handlers translate kopf's calls into `reconcile.Reconciler` runs and their outcomes into
Events, metrics and kopf retries; all API I/O goes through `parley_operator.k8s`, all decisions
through `parley_operator.policies`. Nothing registers at import: `register(registry, ctx)` puts every
handler into the registry the runner passes to kopf.
"""

import kopf

from parley_operator.handlers import binding, chatbot, children, login, secrets
from parley_operator.handlers.context import OperatorContext

__all__ = ["OperatorContext", "register"]


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    login.register(registry, ctx)
    binding.register(registry, ctx)
    chatbot.register(registry, ctx)
    children.register(registry, ctx)
    secrets.register(registry, ctx)
