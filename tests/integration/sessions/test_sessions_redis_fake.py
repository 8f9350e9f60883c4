"""The shared Redis fake itself: a real server that answers, starts empty per test, and really stops."""

from pathlib import Path

import redis

from fakes.redis_server import RedisServer, running_redis


def test_redis_url_points_at_an_empty_live_server(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping()
        assert client.dbsize() == 0
        client.set("left-behind", "1")  # the next test must not see this
    finally:
        client.close()


def test_each_test_starts_from_an_empty_database(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get("left-behind") is None
    finally:
        client.close()


def test_a_private_server_refuses_connections_once_stopped(tmp_path: Path) -> None:
    with running_redis(tmp_path) as server:
        assert isinstance(server, RedisServer)
        assert server.running and server.ping()
        server.stop()
        assert not server.running
        assert not server.ping()
