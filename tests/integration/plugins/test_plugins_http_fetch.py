"""http-fetch against a real HTTP server on 127.0.0.1, through the host as the model would call it."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from parley_runtime.core.chat import ToolCall
from parley_runtime.plugins.host import PluginHost

Make = Callable[..., Any]

PAGE = (
    "<html><head><title>Opening hours</title><script>var token='x';</script></head>"
    "<body><h1>Hours</h1><p>Mon–Fri 9–17</p></body></html>"
)


class Site:
    def __init__(self, base: str, hits: list[str]) -> None:
        self.base = base
        self.hits = hits


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    hits: list[str] = []
    release = asyncio.Event()  # lets the slow handler finish at teardown

    async def page(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text=PAGE, content_type="text/html")

    async def big(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="0123456789" * 100_000, content_type="text/plain")

    async def redirect(request: web.Request) -> web.Response:
        hits.append(request.path)
        raise web.HTTPFound(request.query["to"])

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG....", content_type="image/png")

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/page", page)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/image", image)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    try:
        yield Site(f"http://127.0.0.1:{port}", hits)
    finally:
        release.set()
        await runner.cleanup()


def fetcher(load_host: Make, **config: Any) -> PluginHost:
    host: PluginHost = load_host([{"name": "http-fetch", "config": {"allowHosts": ["127.0.0.1"], **config}}])
    return host


async def fetch(host: PluginHost, url: str, make_message: Make) -> str:
    return await host.call_tool(
        ToolCall(id="c", name="fetch_url", arguments=json.dumps({"url": url})), make_message()
    )


async def test_allowed_page_is_returned_as_text(site: Site, load_host: Make, make_message: Make) -> None:
    host = fetcher(load_host, allowPrivate=True)
    assert [s.name for s in host.tool_specs()] == ["fetch_url"]
    answer = await fetch(host, f"{site.base}/page", make_message)
    assert answer == f"{site.base}/page\n\nOpening hours\n\nHours\n\nMon–Fri 9–17"


async def test_private_address_is_refused_without_allow_private(
    site: Site, load_host: Make, make_message: Make
) -> None:
    answer = await fetch(fetcher(load_host), f"{site.base}/page", make_message)
    assert answer == "error: fetch_url: host 127.0.0.1 has a private or local address; refused"
    assert site.hits == []


async def test_host_outside_the_list_is_refused(site: Site, load_host: Make, make_message: Make) -> None:
    host = fetcher(load_host, allowPrivate=True)
    answer = await fetch(host, "http://localhost:1/page", make_message)
    assert answer == "error: fetch_url: host localhost is not allowed for this bot (allowed: 127.0.0.1)"
    answer = await fetch(host, "file:///etc/passwd", make_message)
    assert answer.startswith("error: fetch_url: only http and https URLs can be fetched")
    answer = await fetch(host, f"http://user:pw@127.0.0.1:{site.base.rsplit(':', 1)[1]}/page", make_message)
    assert answer == "error: fetch_url: URLs with credentials are refused"
    assert site.hits == []


async def test_redirect_to_a_refused_host_is_not_followed(
    site: Site, load_host: Make, make_message: Make
) -> None:
    host = fetcher(load_host, allowPrivate=True)
    answer = await fetch(host, f"{site.base}/redirect?to=http://metadata.internal/latest", make_message)
    assert (
        answer == "error: fetch_url: host metadata.internal is not allowed for this bot (allowed: 127.0.0.1)"
    )
    assert site.hits == ["/redirect"]


async def test_redirect_within_the_list_is_followed(site: Site, load_host: Make, make_message: Make) -> None:
    host = fetcher(load_host, allowPrivate=True)
    answer = await fetch(host, f"{site.base}/redirect?to=/page", make_message)
    assert answer.startswith(f"{site.base}/page\n\nOpening hours")
    assert site.hits == ["/redirect", "/page"]


async def test_body_is_capped_at_max_bytes(site: Site, load_host: Make, make_message: Make) -> None:
    host = fetcher(load_host, allowPrivate=True, maxBytes=1000)
    answer = await fetch(host, f"{site.base}/big", make_message)
    header, body = answer.split("\n\n", 1)
    text, note = body.rsplit("\n", 1)
    assert header == f"{site.base}/big"
    assert text == ("0123456789" * 100)[:1000]
    assert note == "[truncated at 1000 bytes]"


async def test_non_text_and_errors_and_timeouts_are_reported(
    site: Site, load_host: Make, make_message: Make
) -> None:
    host = fetcher(load_host, allowPrivate=True, timeout="300ms")
    assert await fetch(host, f"{site.base}/image", make_message) == (
        f"error: fetch_url: {site.base}/image is image/png, not text"
    )
    assert await fetch(host, f"{site.base}/nope", make_message) == (
        f"error: fetch_url: {site.base}/nope answered HTTP 404"
    )
    assert await fetch(host, f"{site.base}/slow", make_message) == "error: fetch_url: timed out after 300ms"
