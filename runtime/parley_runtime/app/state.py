"""Typed access to the components the lifespan put on the app."""

from starlette.requests import HTTPConnection

from parley_runtime.app.components import Components


class NotReady(Exception):
    """The app has not finished starting (or is stopping)."""


def components(conn: HTTPConnection) -> Components:
    found = getattr(conn.app.state, "components", None)
    if not isinstance(found, Components):
        raise NotReady("starting")
    return found
