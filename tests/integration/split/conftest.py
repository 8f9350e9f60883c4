"""One small cluster shared by the split-role tests that do not kill anything: a private Redis, a
gateway, a stable engine and a canary engine (each a real `parley` process), two fake OpenAI servers
that answer differently, and a recording callback server for the `http` platform.

The gateway's secrets folder holds only binding credentials: no model key, no API token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from factories import binding_doc, chatbot_doc
from fakes.http_api import RecordingApi, Reply, serve
from fakes.llm_servers import FakeOpenAI
from fakes.redis_server import RedisServer, running_redis
from integration.split.harness import Parley, start_all, stop_all, write_manifest, write_secrets

BOT = "demo"
API_TOKEN = "user-facing-api-token"
INTERNAL_TOKEN = "gateway-to-engine-token"
ONEBOT_TOKEN = "napcat-access-token"


def model_route(llm: FakeOpenAI) -> dict[str, Any]:
    return {
        "name": "main",
        "provider": "openai-compatible",
        "model": llm.model,
        "baseURL": llm.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "10s",
    }


def bot_docs(llm: FakeOpenAI, callback: str) -> list[dict[str, Any]]:
    bot = chatbot_doc(
        BOT,
        models={"routes": [model_route(llm)]},
        api={"token": {"secretKeyRef": {"name": "api", "key": "token"}}},
    )
    return [
        bot,
        binding_doc("demo-http", bot=BOT, platform="http", callbackUrl=f"{callback}/hook"),
        binding_doc("demo-fail", bot=BOT, platform="http", callbackUrl=f"{callback}/fail"),
        binding_doc("demo-qq", bot=BOT, platform="onebot", secret="onebot-cred"),
    ]


@dataclass
class Cluster:
    redis: RedisServer
    stable_llm: FakeOpenAI
    canary_llm: FakeOpenAI
    callback: RecordingApi
    manifest: Path
    gateway_secrets: Path
    workdir: Path
    gateway: Parley
    engine: Parley
    canary: Parley

    def gateway_env(self, pod: str) -> dict[str, str]:
        return {
            "PARLEY_REDIS_URL": self.redis.url,
            "PARLEY_INTERNAL_TOKEN_FILE": str(self.workdir / "internal-token"),
            "PARLEY_ENGINE_URL_STABLE": self.engine.url,
            "PARLEY_ENGINE_URL_CANARY": self.canary.url,
            "PARLEY_POD_NAME": pod,
        }

    def another_gateway(self, pod: str) -> Parley:
        """A second gateway replica with the same manifest and secrets (not started)."""
        return Parley("gateway", self.manifest, self.gateway_secrets, self.workdir, env=self.gateway_env(pod))


def engine_env(redis: RedisServer, pod: str, internal_token_file: Path | None = None) -> dict[str, str]:
    env = {
        "PARLEY_REDIS_URL": redis.url,
        "PARLEY_QUEUE_VISIBILITY_TIMEOUT": "1",
        "PARLEY_OUTBOX_INTERVAL": "0.3",
        "PARLEY_POD_NAME": pod,
    }
    if internal_token_file is not None:
        env["PARLEY_INTERNAL_TOKEN_FILE"] = str(internal_token_file)
    return env


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("split")
    (workdir / "internal-token").write_text(INTERNAL_TOKEN + "\n")
    callback = RecordingApi()
    callback.default("POST", "/hook", Reply(200, {"ok": True}))
    callback.default("POST", "/fail", Reply(400, {"error": "no such chat"}))
    with (
        running_redis(workdir / "redis") as redis,
        FakeOpenAI(text="stable engine says hi") as stable_llm,
        FakeOpenAI(text="canary engine says hi") as canary_llm,
        serve(callback.app) as callback_url,
    ):
        manifest = write_manifest(workdir / "bot.yaml", *bot_docs(stable_llm, callback_url))
        canary_manifest = write_manifest(workdir / "bot-canary.yaml", *bot_docs(canary_llm, callback_url))
        engine_secrets = {
            "llm/main": "sk-engine",
            "api/token": API_TOKEN,
            "onebot-cred/accessToken": ONEBOT_TOKEN,
        }
        gateway_secrets = write_secrets(
            workdir / "secrets-gateway", {"onebot-cred/accessToken": ONEBOT_TOKEN}
        )
        engine = Parley(
            "engine",
            manifest,
            write_secrets(workdir / "secrets-engine", engine_secrets),
            workdir,
            env=engine_env(redis, "engine-stable", workdir / "internal-token"),
            track="stable",
        )
        canary = Parley(
            "engine",
            canary_manifest,
            write_secrets(workdir / "secrets-canary", engine_secrets),
            workdir,
            env=engine_env(redis, "engine-canary", workdir / "internal-token"),
            track="canary",
        )
        found = Cluster(
            redis, stable_llm, canary_llm, callback, manifest, gateway_secrets, workdir,
            gateway=Parley("gateway", manifest, gateway_secrets, workdir), engine=engine, canary=canary,
        )  # fmt: skip
        found.gateway.env = found.gateway_env("gateway-a")
        processes = [found.gateway, engine, canary]
        try:
            start_all(processes)
            yield found
        finally:
            stop_all(processes)
