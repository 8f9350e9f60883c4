"""`parley dlq list|replay` through `parley_runtime.cli.main`, against real Redis and a SQLite file."""

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from fakes.http_api import RecordingApi
from integration.queue.outbound_platform import SEND_PATH, Sleeps, platform_send
from parley_runtime import cli
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import Outbox
from parley_runtime.queue import deadletter_redis, deadletter_sqlite, outbox
from parley_runtime.queue.outbound import DeadLetterStore, OutboundSender

MANIFEST = """\
apiVersion: parley.dev/v1alpha1
kind: ChatBot
metadata: {name: helpdesk}
spec:
  version: "1.0.0"
  models:
    routes: [{name: offline, provider: echo, model: echo-1}]
"""


def reply(text: str, user: str = "u-1") -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk", platform="telegram", binding="helpdesk-tg", event_id=f"e-{text[:8]}",
        chat_id="42", user_id=user, text="question",
    )  # fmt: skip
    return OutboundMessage(inbound=inbound, text=text)


class Backend:
    """Where the dead letters live, plus the CLI flags that point `parley dlq` at it."""

    def __init__(self, kind: str, tmp_path: Path, redis_url: str | None) -> None:
        self.kind, self.tmp_path, self.redis_url = kind, tmp_path, redis_url
        self.db = tmp_path / "data" / "parley.sqlite3"

    @property
    def flags(self) -> list[str]:
        if self.kind == "redis":
            assert self.redis_url is not None
            return ["--redis-url", self.redis_url]
        return ["--data-dir", str(self.db.parent)]

    def run(self, work):  # type: ignore[no-untyped-def]
        """Runs `work(dead_letters, outbox)` on a fresh event loop (the CLI runs its own)."""

        async def go():  # type: ignore[no-untyped-def]
            if self.kind == "sqlite":
                self.db.parent.mkdir(exist_ok=True)
                dead = await deadletter_sqlite.SqliteDeadLetterStore.open(self.db, bot="helpdesk")
                return await work(dead, await outbox.SqliteOutbox.open(self.db, bot="helpdesk"))
            client = aioredis.Redis.from_url(self.redis_url)
            try:
                dead_r = deadletter_redis.RedisDeadLetterStore(client, bot="helpdesk")
                return await work(dead_r, outbox.RedisOutbox(client, bot="helpdesk"))
            finally:
                await client.aclose()

        return asyncio.run(go())

    def seed(self, *texts: str) -> list[str]:
        async def add(dead: DeadLetterStore, _box: Outbox) -> list[str]:
            error = "PermanentSendError: telegram: HTTP 400"
            failed = [reply(t, user=f"u-{n}").model_copy(update={"attempt": 1}) for n, t in enumerate(texts)]
            return [await dead.add(message, error) for message in failed]

        return self.run(add)  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Backend(request.param, tmp_path, url)


def test_list_prints_one_line_per_dead_letter(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    long_text = "Your refund of 42 EUR was approved and will reach your account within five working days."
    ids = backend.seed("short answer", long_text)
    assert cli.main(["dlq", "list", "--bot", "helpdesk", *backend.flags]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first = lines[0].split("\t")
    assert first[0] == ids[0]
    assert first[1].endswith("Z") and first[1][:2] == "20"
    assert first[2:6] == ["telegram", "helpdesk-tg", "u-0", "1"]
    assert first[6] == "PermanentSendError: telegram: HTTP 400"
    assert first[7] == "short answer"
    assert lines[1].split("\t")[7] == long_text[:60] + "…"


def test_list_limit(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    backend.seed("a", "b", "c")
    assert cli.main(["dlq", "list", "--bot", "helpdesk", "--limit", "2", *backend.flags]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_bot_name_comes_from_the_manifest(
    backend: Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(MANIFEST)
    backend.seed("from the manifest's bot")
    assert cli.main(["dlq", "list", "-f", str(manifest), *backend.flags]) == 0
    assert "from the manifest's bot" in capsys.readouterr().out


def test_replay_moves_dead_letters_to_the_outbox_and_an_engine_sends_them(
    backend: Backend, platform_api: tuple[RecordingApi, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ids = backend.seed("keep me dead", "send me again")
    assert cli.main(["dlq", "replay", "--bot", "helpdesk", *backend.flags, ids[1]]) == 0
    assert capsys.readouterr().out.strip() == "replayed 1 dead letter to the outbox of helpdesk"

    assert cli.main(["dlq", "list", "--bot", "helpdesk", *backend.flags]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in listed] == [ids[0]]

    api, base_url = platform_api

    async def engine_drains(dead: DeadLetterStore, box: Outbox) -> int:
        async with httpx.AsyncClient() as http:
            sender = OutboundSender(platform_send(http, base_url), dead, sleep=Sleeps())
            return await box.drain(sender.deliver)

    assert backend.run(engine_drains) == 1
    assert [r.json()["text"] for r in api.received(SEND_PATH)] == ["send me again"]

    assert cli.main(["dlq", "replay", "--bot", "helpdesk", *backend.flags]) == 0  # all the rest
    assert capsys.readouterr().out.strip() == "replayed 1 dead letter to the outbox of helpdesk"
    assert cli.main(["dlq", "list", "--bot", "helpdesk", *backend.flags]) == 0
    assert capsys.readouterr().out == ""


def test_replay_of_an_unknown_id_warns_and_fails(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    backend.seed("x")
    unknown = "99" if backend.kind == "sqlite" else "1-0"
    assert cli.main(["dlq", "replay", "--bot", "helpdesk", *backend.flags, unknown]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == "replayed 0 dead letters to the outbox of helpdesk"
    assert captured.err.strip() == f"parley: warning: no dead letter with id {unknown}"


def test_list_of_a_data_dir_without_a_database_is_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["dlq", "list", "--bot", "helpdesk", "--data-dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out == ""
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dlq", "list"], "give the bot with -f FILE or --bot NAME"),
        (["dlq", "list", "--bot", "b", "--limit", "0"], "--limit must be at least 1"),
        (["dlq", "replay", "--bot", "b", "not-an-id"], "'not-an-id' is not a dead letter id (a number)"),
        (["dlq", "list", "--bot", "b", "--redis-url", "http://x"], "not a valid redis:// URL"),
        (["dlq", "list", "-f", "/nonexistent/bot.yaml"], "/nonexistent/bot.yaml: cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PARLEY_REDIS_URL", raising=False)
    monkeypatch.setenv("PARLEY_DATA_DIR", str(tmp_path))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("parley: error: ")
    assert message in err


def test_redis_url_from_env_and_unreachable_redis_without_leaking_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv("PARLEY_REDIS_URL", f"redis://:hunter2-secret@127.0.0.1:{port}/0")
    assert cli.main(["dlq", "list", "--bot", "helpdesk"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"parley: error: cannot use Redis at 127.0.0.1:{port}")
    assert err.count("\n") == 1
    assert "hunter2" not in err
