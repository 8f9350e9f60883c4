"""`parley serve` follows its manifest file: an edit takes effect in the same process; a broken edit
is one log line and the running config stays."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from factories import binding_doc, chatbot_doc, dump_yaml
from fakes.llm_servers import FakeOpenAI, key_for
from fakes.ports import free_port

PARLEY = [sys.executable, "-m", "parley_runtime.cli"]


def manifest(fake: FakeOpenAI, prompt: str, **spec: Any) -> str:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": fake.model,
        "baseURL": fake.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "5s",
    }
    bot = chatbot_doc("demo", persona={"systemPrompt": prompt}, models={"routes": [route]}, **spec)
    return dump_yaml(bot, binding_doc("demo-http", bot="demo"))


def system_prompt_of(body: Any) -> str:
    return str(next(m["content"] for m in body["messages"] if m["role"] == "system"))


def until(probe: Any, what: str, deadline: float = 20.0) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if (value := probe()) is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FakeOpenAI, Path, str, subprocess.Popen[bytes]]]:
    (tmp_path / "secrets" / "llm").mkdir(parents=True)
    (tmp_path / "secrets" / "llm" / "main").write_text(key_for("main"))
    with FakeOpenAI(text="ok") as fake:
        path = tmp_path / "bot.yaml"
        path.write_text(manifest(fake, "You are the first prompt."))
        port = free_port()
        log = (tmp_path / "serve.log").open("wb")
        proc = subprocess.Popen(
            [*PARLEY, "serve", "-f", str(path), "--port", str(port), "--host", "127.0.0.1",
             "--data-dir", str(tmp_path / "data"), "--secrets-dir", str(tmp_path / "secrets")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PARLEY_LOG_FORMAT": "text"},
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            until(lambda: _healthy(url, proc), "parley serve to answer /health")
            yield fake, path, url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def _healthy(url: str, proc: subprocess.Popen[bytes]) -> bool | None:
    assert proc.poll() is None, "parley serve exited"
    try:
        return True if httpx.get(f"{url}/health", timeout=1).status_code == 200 else None
    except httpx.TransportError:
        return None


def ask(url: str, text: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/chat", json={"message": text, "user_id": "u1"}, timeout=10)


def test_an_edited_prompt_answers_the_next_message_in_the_same_process(served: Any) -> None:
    fake, path, url, proc = served
    pid = proc.pid
    assert ask(url, "one").status_code == 200
    assert system_prompt_of(fake.requests[-1].body).startswith("You are the first prompt.")
    path.write_text(manifest(fake, "You are the second prompt."))

    def reloaded() -> bool | None:
        assert ask(url, "again").status_code == 200
        return True if system_prompt_of(fake.requests[-1].body).startswith("You are the second") else None

    until(reloaded, "the edited prompt to be used")
    assert proc.poll() is None and proc.pid == pid  # no restart


def test_a_broken_edit_keeps_the_running_config_and_says_so_once(served: Any, tmp_path: Path) -> None:
    fake, path, url, proc = served
    path.write_text(
        "apiVersion: parley.dev/v1alpha1\nkind: ChatBot\nmetadata: {name: demo}\nspec: {version: "
    )
    until(
        lambda: True if "manifest edit refused" in (tmp_path / "serve.log").read_text() else None,
        "the refusal in the log",
    )
    r = ask(url, "still there?")
    assert r.status_code == 200 and r.json()["reply"] == "ok"
    assert system_prompt_of(fake.requests[-1].body).startswith("You are the first prompt.")
    refusals = [line for line in (tmp_path / "serve.log").read_text().splitlines() if "refused" in line]
    assert len(refusals) == 1
    assert proc.poll() is None
