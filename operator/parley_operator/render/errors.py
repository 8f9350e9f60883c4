"""Render errors.

ValueError
└── RenderError  -- the input cannot be rendered (one readable line naming the field)
"""


class RenderError(ValueError):
    pass
