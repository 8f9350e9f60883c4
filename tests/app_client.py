"""The real `parley serve` app, lifespan running, reached in-process through httpx's ASGI transport."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from factories import dump_yaml
from parley_runtime.app import bootstrap
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

__all__ = ["app_client"]


@contextlib.asynccontextmanager
async def app_client(
    tmp_path: Path, *docs: dict[str, Any], secrets: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """`docs` written as the manifest, `secrets` ({"name/key": value}) as the secrets folder."""
    (tmp_path / "bot.yaml").write_text(dump_yaml(*docs))
    (tmp_path / "secrets").mkdir(exist_ok=True)
    for key_path, value in (secrets or {}).items():
        target = tmp_path / "secrets" / key_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value)
    settings = RuntimeSettings(
        config_files=(tmp_path / "bot.yaml",),
        secrets_dir=tmp_path / "secrets",
        data_dir=tmp_path / "data",
        role="serve",
    )
    app = create_app(bootstrap.load(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://parley.test") as client:
            yield client
