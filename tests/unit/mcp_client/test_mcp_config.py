"""`spec.mcpServers`: what the manifest accepts, and that its secrets are resolved and mounted like any
other (`config.secrets.secret_refs` is what `serve`, the operator's mounts and its status all read)."""

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import factories
from parley_operator.policies import references
from parley_operator.render import volumes
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.loader import Loaded
from parley_runtime.config.models import ChatBot, McpServer
from parley_runtime.config.secrets import resolve, secret_refs

KEY = {"secretKeyRef": {"name": "mcp-creds", "key": "token"}}


def _bot(*servers: dict[str, Any]) -> ChatBot:
    return ChatBot.model_validate(factories.chatbot_doc("helpdesk", mcpServers=list(servers)))


def test_both_transports_are_accepted_with_defaults() -> None:
    http = McpServer.model_validate({"name": "docs", "url": "https://mcp.example.com/mcp"})
    stdio = McpServer.model_validate({"name": "fs", "command": "mcp-fs", "args": ["/data"]})
    assert (http.timeout_seconds, http.allow_tools, http.headers) == (30.0, None, {})
    assert (stdio.command, stdio.args, stdio.env) == ("mcp-fs", ["/data"], {})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "exactly one of url (streamable HTTP) or command (stdio)"),
        ({"url": "https://x/mcp", "command": "c"}, "exactly one of url"),
        ({"url": "https://x/mcp", "args": ["-v"]}, "args and env apply to a command"),
        ({"url": "https://x/mcp", "env": {"TOKEN": KEY}}, "args and env apply to a command"),
        ({"command": "c", "headers": {"Authorization": KEY}}, "headers apply to url"),
        (
            {"url": "https://x/mcp", "headers": {"Mcp-Session-Id": KEY}},
            "sets itself cannot be configured: Mcp-Session-Id",
        ),
        ({"url": "https://x/mcp", "headers": {"X Token": KEY}}, "not a header or environment variable name"),
        ({"command": "c", "env": {"1TOKEN": KEY}}, "not a header or environment variable name"),
        ({"url": "ftp://x/mcp"}, "should match pattern"),
        ({"url": "https://x/mcp", "allowTools": []}, "at least 1 item"),
        ({"url": "https://x/mcp", "headers": {"Authorization": "Bearer inline"}}, "valid dictionary"),
    ],
)
def test_bad_servers_are_refused_with_a_reason(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        McpServer.model_validate({"name": "docs", **fields})


@pytest.mark.parametrize("name", ["Docs", "docs_search", "-docs", "d" * 33])
def test_server_names_are_short_dns_labels(name: str) -> None:
    with pytest.raises(ValidationError, match="name"):
        McpServer.model_validate({"name": name, "url": "https://x/mcp"})


def test_server_names_are_unique() -> None:
    with pytest.raises(ValidationError, match="MCP server names must be unique: docs"):
        _bot({"name": "docs", "url": "https://a/mcp"}, {"name": "docs", "command": "c"})


def test_header_and_env_secrets_are_referenced_mounted_and_checked() -> None:
    env_key = {"secretKeyRef": {"name": "fs-creds", "key": "token"}}
    bot = _bot(
        {"name": "docs", "url": "https://a/mcp", "headers": {"Authorization": KEY}},
        {"name": "fs", "command": "mcp-fs", "env": {"FS_TOKEN": env_key}},
    )
    paths = [path for path, _ in secret_refs(bot)]
    assert "spec.mcpServers[0].headers.Authorization" in paths
    assert "spec.mcpServers[1].env.FS_TOKEN" in paths
    assert {"mcp-creds", "fs-creds"} <= set(volumes.user_secret_names(bot, []))  # the pods mount them
    problems = references.bot_problems(bot, {"mcp-creds": frozenset(), "fs-creds": frozenset({"token"})})
    assert problems == ["spec.mcpServers[0].headers.Authorization: Secret mcp-creds has no key token"]


def test_serve_refuses_to_start_without_a_header_secret(tmp_path: Path) -> None:
    bot = _bot({"name": "docs", "url": "https://a/mcp", "headers": {"Authorization": KEY}})
    with pytest.raises(
        ConfigError, match=r"spec\.mcpServers\[0\]\.headers\.Authorization: secret mcp-creds/token"
    ):
        resolve(Loaded(bot, "bot.yaml"), [], tmp_path)
    (tmp_path / "mcp-creds").mkdir()
    (tmp_path / "mcp-creds" / "token").write_text("Bearer s3cret\n")
    secrets = resolve(Loaded(bot, "bot.yaml"), [], tmp_path)
    assert secrets.get(bot.spec.mcp_servers[0].headers["Authorization"]) == "Bearer s3cret"
    assert "Bearer s3cret" in secrets.values()  # so that log redaction hides it
