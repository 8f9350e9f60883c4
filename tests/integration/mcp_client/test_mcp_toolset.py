"""`McpTools` against real MCP servers written with the SDK's `MCPServer`: stdio and streamable HTTP."""

import base64
import logging
import os
import sys

import psutil
import pytest

from fakes.served import free_socket
from integration.mcp_client import demo_server
from integration.mcp_client.harness import HttpServer, http_spec, running, stdio_spec, wait_until
from parley_runtime.config.models import McpServer
from parley_runtime.config.secrets import Secrets
from parley_runtime.core.protocols import PluginOutput
from parley_runtime.mcp_client.toolset import McpTools

SECRET = {"secretKeyRef": {"name": "mcp", "key": "token"}}


def _names(tools: McpTools, reserved: frozenset[str] = frozenset()) -> list[str]:
    return [spec.name for spec in tools.tool_specs(reserved)]


async def _up(tools: McpTools, *servers: str) -> None:
    await wait_until(lambda: all(tools.servers[s].up for s in servers), f"{servers} to connect")


async def test_stdio_server_tools_are_listed_and_called() -> None:
    async with running(stdio_spec()) as tools:
        await _up(tools, "local")
        specs = {spec.name: spec for spec in tools.tool_specs()}
        answer = await tools.call("lookup_weather", '{"city": "Paris"}')
    assert set(specs) == {"lookup_weather", "current_time", "picture", "refuse", "env_value", "pid", "crash"}
    weather = specs["lookup_weather"]
    assert weather.description == "Today's weather in a city."
    assert weather.parameters["type"] == "object"
    assert weather.parameters["properties"]["city"]["type"] == "string"
    assert weather.parameters["required"] == ["city"]
    assert answer == "Sunny in Paris, 21 degrees"


async def test_http_server_gets_its_headers_from_secrets(http_server: HttpServer) -> None:
    spec = http_spec(http_server.url, headers={"Authorization": SECRET})
    async with running(spec, secrets=Secrets({("mcp", "token"): "Bearer s3cret"})) as tools:
        await _up(tools, "remote")
        answer = await tools.call("lookup_weather", '{"city": "Lima"}')
    assert answer == "Sunny in Lima, 21 degrees"
    assert http_server.headers
    assert all(h.get("authorization") == "Bearer s3cret" for h in http_server.headers)


async def test_a_missing_header_secret_is_a_config_error_naming_the_field() -> None:
    from parley_runtime.config.errors import ConfigError

    spec = http_spec("http://127.0.0.1:9/mcp", headers={"Authorization": SECRET})
    with pytest.raises(ConfigError, match=r"spec\.mcpServers\[0\]\.headers\.Authorization: secret mcp/token"):
        McpTools.from_specs([spec], Secrets({}))


async def test_images_go_to_the_reply_and_the_model_is_told() -> None:
    async with running(stdio_spec()) as tools:
        await _up(tools, "local")
        answer = await tools.call("picture", "{}")
    assert isinstance(answer, PluginOutput)
    [image] = answer.attachments
    assert image.kind == "image" and image.mime_type == "image/png" and image.size == len(demo_server.PNG)
    assert image.url is not None and image.url.startswith("data:image/png;base64,")
    assert base64.b64decode(image.url.split(",", 1)[1]) == demo_server.PNG
    assert "1 image(s) from picture will be sent to the user" in answer.text


async def test_tool_errors_and_bad_arguments_are_answers_for_the_model() -> None:
    async with running(stdio_spec()) as tools:
        await _up(tools, "local")
        refused = await tools.call("refuse", '{"reason": "no such city"}')
        not_json = await tools.call("lookup_weather", "{city")
        not_object = await tools.call("lookup_weather", "[1]")
        unknown = await tools.call("teleport", "{}")
    assert refused.startswith("error: refuse:") and "no such city" in refused
    assert not_json == "error: lookup_weather: the arguments are not valid JSON"
    assert not_object == "error: lookup_weather: the arguments must be a JSON object"
    assert unknown == "error: unknown tool 'teleport'"


async def test_allow_tools_keeps_only_the_named_tools(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="parley.mcp")
    async with running(stdio_spec(allowTools=["lookup_weather", "teleport"])) as tools:
        await _up(tools, "local")
        names = _names(tools)
        refused = await tools.call("crash", "{}")
    assert names == ["lookup_weather"]
    assert refused == "error: unknown tool 'crash'"  # not offered, and not callable either
    [warning] = [r for r in caplog.records if "allowTools" in r.getMessage()]
    assert warning.__dict__["missing"] == "teleport"


async def test_clashing_names_are_prefixed_with_the_server(http_server: HttpServer) -> None:
    async with running(stdio_spec("local"), http_spec(http_server.url, "remote")) as tools:
        await _up(tools, "local", "remote")
        names = _names(tools)
        local_pid = await tools.call("local_pid", "{}")
        remote_pid = await tools.call("remote_pid", "{}")
    assert "local_lookup_weather" in names and "remote_lookup_weather" in names
    assert "lookup_weather" not in names
    assert remote_pid == str(os.getpid())  # the HTTP server runs in this process, the stdio one does not
    assert local_pid != remote_pid and int(local_pid) > 0


async def test_plugin_tool_names_win_and_only_clashing_tools_are_prefixed() -> None:
    async with running(stdio_spec("local")) as tools:
        await _up(tools, "local")
        names = _names(tools, frozenset({"current_time"}))
        answer = await tools.call("local_current_time", "{}", frozenset({"current_time"}))
    assert "local_current_time" in names and "current_time" not in names
    assert "lookup_weather" in names  # no clash: its own name
    assert answer == "12:00 server time"


async def test_stdio_server_gets_env_from_secrets_and_nothing_else_of_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARLEY_TEST_PRIVATE", "engine-only")
    spec = stdio_spec(env={"DEMO_TOKEN": SECRET})
    async with running(spec, secrets=Secrets({("mcp", "token"): "tok-123"})) as tools:
        await _up(tools, "local")
        token = await tools.call("env_value", '{"name": "DEMO_TOKEN"}')
        private = await tools.call("env_value", '{"name": "PARLEY_TEST_PRIVATE"}')
    assert token == "tok-123"
    assert private == "<unset>"


async def test_a_server_that_is_down_is_left_out_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="parley.mcp")
    with free_socket() as sock:  # bound, never listening: connections are refused
        port = sock.getsockname()[1]
        down = http_spec(f"http://127.0.0.1:{port}/mcp", "down")
        missing = McpServer(name="missing", command="/nonexistent/mcp-server")
        async with running(stdio_spec("local"), down, missing) as tools:
            await _up(tools, "local")

            def retried(server: str) -> bool:
                return any(
                    r.__dict__.get("server") == server and r.__dict__.get("attempt", 0) >= 2
                    for r in caplog.records
                )

            await wait_until(lambda: retried("down") and retried("missing"), "a second attempt at each")
            names = _names(tools)
    assert names and all(not n.startswith(("down", "missing")) for n in names)
    assert "lookup_weather" in names  # the server that is up keeps its own names
    for server, error in (("down", "ConnectError"), ("missing", "FileNotFoundError")):
        warnings = [
            r for r in caplog.records if r.levelno == logging.WARNING and r.__dict__.get("server") == server
        ]
        assert len(warnings) == 1, warnings
        assert warnings[0].__dict__["error"].startswith(error)


async def test_a_stdio_server_that_dies_mid_call_is_unavailable_then_comes_back() -> None:
    async with running(stdio_spec("local")) as tools:
        await _up(tools, "local")
        first_pid = int(await tools.call("pid", "{}"))
        answer = await tools.call("crash", "{}")
        offered_after = _names(tools)
        again = await tools.call("lookup_weather", '{"city": "Oslo"}')
        await _up(tools, "local")  # reconnected: a new process
        second_pid = int(await tools.call("pid", "{}"))
        back = await tools.call("lookup_weather", '{"city": "Oslo"}')
    assert answer == "tool unavailable: crash (MCP server local went away); answer without it"
    assert offered_after == []
    assert again.startswith("tool unavailable: lookup_weather (MCP server local")
    assert second_pid != first_pid
    assert back == "Sunny in Oslo, 21 degrees"


async def test_an_http_server_that_goes_away_is_unavailable(http_server: HttpServer) -> None:
    async with running(http_spec(http_server.url)) as tools:
        await _up(tools, "remote")
        http_server.stop()
        answer = await tools.call("lookup_weather", '{"city": "Rome"}')
        await wait_until(lambda: not tools.servers["remote"].up, "the server to be seen gone")
        offered = _names(tools)
    assert answer.startswith("tool unavailable: lookup_weather (MCP server remote")
    assert offered == []


async def test_closing_ends_the_stdio_server_process() -> None:
    async with running(stdio_spec("local")) as tools:
        await _up(tools, "local")
        pid = int(await tools.call("pid", "{}"))
        assert psutil.pid_exists(pid)
    assert not psutil.pid_exists(pid)


async def test_a_server_that_never_answers_delays_nothing_and_still_closes() -> None:
    silent = McpServer(name="silent", command=sys.executable, args=["-c", "import sys; sys.stdin.read()"])
    before = {p.pid for p in psutil.Process().children()}

    def started() -> list[psutil.Process]:
        return [p for p in psutil.Process().children() if p.pid not in before]

    async with running(silent) as tools:
        await tools.start()  # already started: a no-op
        assert tools.tool_specs() == []
        assert not tools.servers["silent"].up
        await wait_until(lambda: bool(started()), "the server process to start")
        processes = started()
    # Stopped during its start, the process is killed rather than asked to leave: it may take a moment
    # after `aclose` to be gone.
    await wait_until(lambda: all(_ended(p) for p in processes), "the server process to end", seconds=5)


def _ended(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
