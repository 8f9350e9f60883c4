"""The error boundary: every call into plugin code goes through `call`, so nothing escapes.

A failure is logged with the plugin's own logger (traceback included: the log formatter masks
secrets), counted in `parley_plugin_errors_total{plugin}`, and reported to the caller as `FAILED`.
"""

import inspect
from collections.abc import Callable
from typing import Any, Final

from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins.registry import LoadedPlugin


class _Failed:
    def __repr__(self) -> str:
        return "FAILED"


FAILED: Final = _Failed()


async def call(
    loaded: LoadedPlugin, metrics: Metrics, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """`fn(*args, **kwargs)`, awaited when it returns an awaitable; FAILED when it raised."""
    try:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
    except Exception:
        contained(loaded, metrics, what)
        return FAILED
    return result


def contained(loaded: LoadedPlugin, metrics: Metrics, what: str) -> None:
    """Log the exception being handled and count it against the plugin."""
    loaded.logger.exception("plugin %s: %s failed", loaded.name, what)
    metrics.plugin_errors.labels(plugin=loaded.name).inc()
