"""`parley dlq list|replay`: inspect dead-lettered replies and hand them back to the engines.

Replay only moves entries into the bot's outbox; a running engine sends them with its own
credentials, so this command needs none. The store is Redis when a URL is given (`--redis-url` or
env PARLEY_REDIS_URL), otherwise the SQLite file of `parley serve` in the data dir.
"""

import argparse
import asyncio
import datetime
import os
import re
import sys
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from parley_runtime.config.errors import ConfigError
from parley_runtime.config.loader import load_manifests
from parley_runtime.core.protocols import Outbox
from parley_runtime.queue import deadletter_redis, deadletter_sqlite, outbox
from parley_runtime.queue.outbound import DeadLetter, DeadLetterStore

DEFAULT_DATA_DIR = Path("./parley-data")
DB_NAME = "parley.sqlite3"
TEXT_PREVIEW = 60


class _Usage(Exception):
    """Bad input: one line on stderr, exit 2."""


class _Unavailable(Exception):
    """The store cannot be reached: one line on stderr, exit 1."""


def run(args: argparse.Namespace) -> int:
    try:
        bot = _bot_name(args)
        redis_url = getattr(args, "redis_url", None) or os.environ.get("PARLEY_REDIS_URL") or None
        if args.dlq_command == "list":
            if args.limit < 1:
                raise _Usage("--limit must be at least 1")
            for entry in asyncio.run(_list(bot, redis_url, _data_dir(args), args.limit)):
                print(format_line(entry))
            return 0
        ids = list(args.ids or [])
        _check_ids(ids, redis=redis_url is not None)
        moved, missing = asyncio.run(_replay(bot, redis_url, _data_dir(args), ids or None))
        print(f"replayed {moved} dead letter{'s' if moved != 1 else ''} to the outbox of {bot}")
        for entry_id in missing:
            print(f"parley: warning: no dead letter with id {entry_id}", file=sys.stderr)
        return 1 if missing else 0
    except ConfigError as exc:
        return _fail(exc.one_line(), 2)
    except _Usage as exc:
        return _fail(str(exc), 2)
    except _Unavailable as exc:
        return _fail(str(exc), 1)


def _fail(line: str, code: int) -> int:
    print(f"parley: error: {line}", file=sys.stderr)
    return code


def _bot_name(args: argparse.Namespace) -> str:
    files = getattr(args, "files", None)
    if files:
        return load_manifests(files).bot(args.bot).obj.name
    if args.bot:
        return str(args.bot)
    raise _Usage(f"dlq {args.dlq_command}: give the bot with -f FILE or --bot NAME")


def _data_dir(args: argparse.Namespace) -> Path:
    given = getattr(args, "data_dir", None) or os.environ.get("PARLEY_DATA_DIR")
    return Path(given) if given else DEFAULT_DATA_DIR


_REDIS_ID = re.compile(r"\d+-\d+")


def _check_ids(ids: list[str], *, redis: bool) -> None:
    for entry_id in ids:
        ok = _REDIS_ID.fullmatch(entry_id) if redis else entry_id.isdigit()
        if not ok:
            shape = "like 1732190000000-0" if redis else "a number"
            raise _Usage(f"dlq replay: {entry_id!r} is not a dead letter id ({shape})")


def format_line(entry: DeadLetter) -> str:
    """id, time, platform, binding, user, attempts, error, text preview — tab-separated, one line."""
    inbound = entry.message.inbound
    when = datetime.datetime.fromtimestamp(entry.failed_at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = entry.message.text
    preview = text[:TEXT_PREVIEW] + ("…" if len(text) > TEXT_PREVIEW else "")
    fields = [entry.id, when, inbound.platform, inbound.binding, inbound.user_id, str(entry.attempts)]
    fields += [entry.error, preview]
    return "\t".join(" ".join(f.split()) for f in fields)


def _redis_client(url: str) -> aioredis.Redis:
    try:
        return aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    except ValueError:
        # The URL may hold a password: never echo it back.
        raise _Usage("--redis-url / PARLEY_REDIS_URL is not a valid redis:// URL") from None


async def _list(bot: str, redis_url: str | None, data_dir: Path, limit: int) -> list[DeadLetter]:
    if redis_url is None:
        db = data_dir / DB_NAME
        if not db.is_file():
            return []
        store: DeadLetterStore = await deadletter_sqlite.SqliteDeadLetterStore.open(db, bot=bot)
        return await store.list(limit)
    client = _redis_client(redis_url)
    try:
        return await deadletter_redis.RedisDeadLetterStore(client, bot=bot).list(limit)
    except RedisError as exc:
        raise _Unavailable(_redis_problem(client, exc)) from None
    finally:
        await client.aclose()


async def _replay(
    bot: str, redis_url: str | None, data_dir: Path, ids: list[str] | None
) -> tuple[int, list[str]]:
    if redis_url is None:
        db = data_dir / DB_NAME
        if not db.is_file():
            return 0, list(ids or [])
        dead = await deadletter_sqlite.SqliteDeadLetterStore.open(db, bot=bot)
        box: Outbox = await outbox.SqliteOutbox.open(db, bot=bot)
        return await _move(dead, box, ids)
    client = _redis_client(redis_url)
    try:
        return await _move(
            deadletter_redis.RedisDeadLetterStore(client, bot=bot), outbox.RedisOutbox(client, bot=bot), ids
        )
    except RedisError as exc:
        raise _Unavailable(_redis_problem(client, exc)) from None
    finally:
        await client.aclose()


async def _move(dead: DeadLetterStore, box: Outbox, ids: list[str] | None) -> tuple[int, list[str]]:
    taken = await dead.take(ids)
    if taken:
        await box.put([e.message for e in taken])
    found = {e.id for e in taken}
    return len(taken), [i for i in ids or [] if i not in found]


def _redis_problem(client: aioredis.Redis, exc: RedisError) -> str:
    kwargs = client.connection_pool.connection_kwargs
    where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
    return f"cannot use Redis at {where}: {type(exc).__name__}"
