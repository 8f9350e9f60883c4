"""A gray release as it runs in a cluster, minus Kubernetes: a private Redis, a gateway reading the
route file the operator would write, a stable and a canary engine (real `parley` processes) whose fake
models answer differently, so every reply says which track served it, and a callback server for the
`http` platform's replies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from factories import binding_doc, chatbot_doc
from fakes.http_api import RecordingApi, Reply, serve
from fakes.llm_servers import FakeOpenAI
from fakes.redis_server import running_redis
from integration.split.harness import Parley, start_all, stop_all, write_manifest, write_secrets

BOT = "gray"
BINDING = "gray-http"
STABLE_REPLY = "stable engine says hi"
CANARY_REPLY = "canary engine says hi"


def write_routes(path: Path, weight: float) -> None:
    """What the operator's routes ConfigMap holds, swapped in atomically as the kubelet does."""
    tmp = path.with_suffix(".tmp")
    routes = {"bot": BOT, "stableVersion": "1.4.0", "canaryVersion": "1.5.0", "canaryWeight": weight}
    tmp.write_text(json.dumps(routes))
    os.replace(tmp, path)


def docs(llm: FakeOpenAI, callback: str) -> list[dict[str, Any]]:
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": llm.model,
        "baseURL": llm.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "retries": 0,
        "timeout": "10s",
    }
    bot = chatbot_doc(BOT, models={"routes": [route]}, rateLimit={"perUserPerMinute": 1000})
    return [bot, binding_doc(BINDING, bot=BOT, platform="http", callbackUrl=f"{callback}/hook")]


@dataclass
class GrayCluster:
    gateway: Parley
    engine: Parley
    canary: Parley
    callback: RecordingApi
    route_file: Path


@pytest.fixture(scope="package")
def gray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GrayCluster]:
    workdir = tmp_path_factory.mktemp("gray")
    token_file = workdir / "internal-token"
    token_file.write_text("gray-internal-token\n")
    route_file = workdir / "routes.json"
    write_routes(route_file, 20)
    callback = RecordingApi()
    callback.default("POST", "/hook", Reply(200, {"ok": True}))
    with (
        running_redis(workdir / "redis") as redis,
        FakeOpenAI(text=STABLE_REPLY) as stable_llm,
        FakeOpenAI(text=CANARY_REPLY) as canary_llm,
        serve(callback.app) as callback_url,
    ):
        engine_secrets = write_secrets(workdir / "secrets-engine", {"llm/main": "sk-engine"})

        def engine(track: str, llm: FakeOpenAI) -> Parley:
            manifest = write_manifest(workdir / f"bot-{track}.yaml", *docs(llm, callback_url))
            env = {
                "PARLEY_REDIS_URL": redis.url,
                "PARLEY_INTERNAL_TOKEN_FILE": str(token_file),
                "PARLEY_POD_NAME": f"engine-{track}",
            }
            return Parley("engine", manifest, engine_secrets, workdir, env=env, track=track)

        stable, canary = engine("stable", stable_llm), engine("canary", canary_llm)
        gateway = Parley(
            "gateway",
            workdir / "bot-stable.yaml",
            write_secrets(workdir / "secrets-gateway", {}),
            workdir,
            env={
                "PARLEY_REDIS_URL": redis.url,
                "PARLEY_INTERNAL_TOKEN_FILE": str(token_file),
                "PARLEY_ENGINE_URL_STABLE": stable.url,
                "PARLEY_ENGINE_URL_CANARY": canary.url,
                "PARLEY_ROUTE_FILE": str(route_file),
                "PARLEY_POD_NAME": "gateway-0",
            },
        )
        processes = [gateway, stable, canary]
        try:
            start_all(processes)
            yield GrayCluster(gateway, stable, canary, callback, route_file)
        finally:
            stop_all(processes)
