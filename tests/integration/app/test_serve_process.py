"""`parley serve` as a user runs it: a real subprocess on a free port."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from factories import binding_doc, chatbot_doc, dump_yaml
from fakes.ports import free_port

PARLEY = [sys.executable, "-m", "parley_runtime.cli"]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"parley serve exited early: {err}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("parley serve did not become healthy")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("serve")
    manifest = tmp / "bot.yaml"
    manifest.write_text(
        dump_yaml(
            chatbot_doc("demo", persona={"systemPrompt": "Be brief."}, plugins=[{"name": "clock"}]),
            binding_doc("demo-http", bot="demo"),
        )
    )
    port = free_port()
    env = {**os.environ, "PARLEY_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [
            *PARLEY,
            "serve",
            "-f",
            str(manifest),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--data-dir",
            str(tmp / "data"),
            "--secrets-dir",
            str(tmp / "secrets"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_health(served: str) -> None:
    r = httpx.get(f"{served}/health")
    assert r.status_code == 200 and r.json() == {"status": "OK"}


def test_ready(served: str) -> None:
    r = httpx.get(f"{served}/ready")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_chat_round_trip_and_session(served: str) -> None:
    r = httpx.post(f"{served}/api/v1/chat", json={"message": "hello there", "user_id": "alice"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"reply", "session_id", "model", "track"}
    assert "hello there" in body["reply"] and body["model"] == "echo-1" and body["track"] == "stable"
    again = httpx.post(
        f"{served}/api/v1/chat",
        json={"message": "second", "user_id": "alice", "session_id": body["session_id"]},
    )
    assert again.json()["session_id"] == body["session_id"]


def test_stream_sends_deltas_then_the_whole_reply(served: str) -> None:
    with httpx.stream("POST", f"{served}/api/v1/chat?stream=true", json={"message": "one two three"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    deltas = [e["delta"] for e in events if "delta" in e]
    final = events[-1]
    assert len(deltas) > 1 and final["done"] is True
    assert "".join(deltas) == final["reply"] and "one two three" in final["reply"]


def test_track_header_is_honoured(served: str) -> None:
    r = httpx.post(f"{served}/api/v1/chat", json={"message": "x"}, headers={"X-Parley-Track": "canary"})
    assert r.json()["track"] == "canary"
    bad = httpx.post(f"{served}/api/v1/chat", json={"message": "x"}, headers={"X-Parley-Track": "blue"})
    assert bad.status_code == 400


def test_plugin_command_answers_without_the_model(served: str) -> None:
    r = httpx.post(f"{served}/api/v1/chat", json={"message": "/help"})
    assert r.status_code == 200 and "/reset" in r.json()["reply"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b'{"message": 5}', 422),
        (b'{"text": "hi"}', 422),
        (b'{"message": ""}', 422),
        (b"[]", 422),
    ],
)
def test_bad_bodies_get_4xx_with_a_message(served: str, content: bytes, status: int) -> None:
    r = httpx.post(f"{served}/api/v1/chat", content=content, headers={"content-type": "application/json"})
    assert r.status_code == status
    assert isinstance(r.json()["error"], str) and r.json()["error"]


def test_metrics_exposes_the_spec_names(served: str) -> None:
    httpx.post(f"{served}/api/v1/chat", json={"message": "count me"})
    text = httpx.get(f"{served}/metrics").text
    assert 'parley_messages_total{outcome="ok",platform="api",track="stable"}' in text
    for name in (
        "parley_message_seconds",
        "parley_llm_requests_total",
        "parley_llm_seconds",
        "parley_provider_up",
        "parley_queue_lag",
    ):
        assert name in text


def test_web_chat_page(served: str) -> None:
    r = httpx.get(f"{served}/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/api/v1/chat" in r.text and "demo" in r.text


def test_unknown_webhook_binding_is_404(served: str) -> None:
    assert httpx.post(f"{served}/webhook/http/nope", json={}).status_code == 404
    assert httpx.post(f"{served}/webhook/telegram/demo-http", json={}).status_code == 404


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PARLEY, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_bad_manifest_exits_2_with_one_line(tmp_path: Path) -> None:
    doc = chatbot_doc("demo", rateLimit={"perUserPerMinute": "lots"})
    (tmp_path / "bad.yaml").write_text(dump_yaml(doc))
    result = run_cli("serve", "-f", str(tmp_path / "bad.yaml"), "--port", str(free_port()))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "bad.yaml" in lines[0] and "spec.rateLimit.perUserPerMinute" in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_secret_exits_2_naming_the_field(tmp_path: Path) -> None:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": "m",
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "openai"}},
    }
    (tmp_path / "bot.yaml").write_text(dump_yaml(chatbot_doc("demo", models={"routes": [route]})))
    result = run_cli("serve", "-f", str(tmp_path / "bot.yaml"), "--secrets-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "spec.models.routes[0].apiKey" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_plugin_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bot.yaml").write_text(dump_yaml(chatbot_doc("demo", plugins=[{"name": "nonesuch"}])))
    result = run_cli(
        "serve",
        "-f",
        str(tmp_path / "bot.yaml"),
        "--data-dir",
        str(tmp_path / "d"),
        "--port",
        str(free_port()),
    )
    assert result.returncode == 2
    assert "spec.plugins[0].name" in result.stderr and "Traceback" not in result.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("serve", "-f", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "nope.yaml" in result.stderr


def test_usage_error_exits_2() -> None:
    result = run_cli("serve", "--port", "not-a-number")
    assert result.returncode == 2 and result.stderr.count("\n") == 1


PLUGIN_V1 = """
from parley_runtime.plugins.api import Plugin

plugin = Plugin("greeter")


@plugin.command("greet", description="say hello")
def greet(ctx, args):
    return "hello v1"
"""


def test_folder_plugin_hot_reloads_and_logs_are_json_without_secrets(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "greeter.py").write_text(PLUGIN_V1)
    secrets = tmp_path / "secrets" / "api"
    secrets.mkdir(parents=True)
    (secrets / "token").write_text("tok-5ecret-value\n")
    doc = chatbot_doc(
        "demo",
        plugins=[{"name": "greeter"}],
        api={"token": {"secretKeyRef": {"name": "api", "key": "token"}}},
    )
    (tmp_path / "bot.yaml").write_text(dump_yaml(doc))
    port = free_port()
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *PARLEY,
                "serve",
                "-f",
                str(tmp_path / "bot.yaml"),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--data-dir",
                str(tmp_path / "data"),
                "--secrets-dir",
                str(tmp_path / "secrets"),
                "--plugins-dir",
                str(plugins),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, "PARLEY_LOG_LEVEL": "INFO"},
        )
        url = f"http://127.0.0.1:{port}"
        auth = {"Authorization": "Bearer tok-5ecret-value"}
        try:
            wait_healthy(url, proc)
            first = httpx.post(f"{url}/api/v1/chat", json={"message": "/greet"}, headers=auth).json()
            assert first["reply"] == "hello v1"
            (plugins / "greeter.py").write_text(PLUGIN_V1.replace("hello v1", "hello v2"))
            deadline = time.monotonic() + 20
            reply = ""
            while time.monotonic() < deadline and reply != "hello v2":
                time.sleep(0.3)
                reply = httpx.post(f"{url}/api/v1/chat", json={"message": "/greet"}, headers=auth).json()[
                    "reply"
                ]
            assert reply == "hello v2"
            httpx.post(f"{url}/api/v1/chat", json={"message": "tell me tok-5ecret-value"}, headers=auth)
        finally:
            proc.terminate()
            proc.wait(15)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    replies = [r for r in records if r.get("msg") == "reply"]
    assert replies and all(r.get("event_id") for r in replies)
    assert "tok-5ecret-value" not in log_path.read_text()
