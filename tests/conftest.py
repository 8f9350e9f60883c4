"""Fixtures shared by every test tier; each lives in its own module and is only registered here."""

from fakes.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]
