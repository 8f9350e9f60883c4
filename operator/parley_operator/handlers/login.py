"""Log in like kopf does (in-cluster service account, else kubeconfig) and share the result with the
operator's own API client, so both use one identity."""

from typing import Any

import kopf

from parley_operator.handlers.context import OperatorContext
from parley_operator.k8s.connection import Connection


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def to_connection(info: kopf.ConnectionInfo) -> Connection:
    return Connection(
        server=info.server,
        insecure=bool(info.insecure),
        ca_path=_text(info.ca_path),
        ca_data=_text(info.ca_data),
        certificate_path=_text(info.certificate_path),
        certificate_data=_text(info.certificate_data),
        private_key_path=_text(info.private_key_path),
        private_key_data=_text(info.private_key_data),
        scheme=info.scheme,
        token=info.token,
        username=info.username,
        password=info.password,
    )


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    @kopf.on.login(registry=registry, id="parley-login")
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        try:
            info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
        except (OSError, ValueError, KeyError) as e:  # unreadable or malformed kubeconfig
            raise kopf.PermanentError(f"cannot log in: {type(e).__name__}: {e}") from None
        if info is not None:
            ctx.credentials.connection = to_connection(info)
        return info

    @kopf.on.cleanup(registry=registry, id="parley-close")
    async def close(**_: Any) -> None:
        await ctx.close()
