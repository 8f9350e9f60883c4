"""Pure rendering: a ChatBot and its PlatformBindings → the Kubernetes objects that run it.

Rule: no I/O, no kopf, no Kubernetes client, no clock — plain dicts out, the same for the same input.
`parley render` and the operator call the same `render_bot`, so what `render` prints is what the
operator applies. Bad input raises `RenderError` (a ValueError) with one readable line.
"""

from parley_operator.render.bot import render_bot
from parley_operator.render.errors import RenderError
from parley_operator.render.meta import OwnerRef

__all__ = ["OwnerRef", "RenderError", "render_bot"]
