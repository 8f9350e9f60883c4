"""The web chat page (`GET /`) in a real browser: Debian's chromium driven by Playwright, against the
real app served on 127.0.0.1 with a fake model behind it."""

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright

from factories import chatbot_doc, dump_yaml
from fakes.llm_servers import FakeOpenAI, Reply, key_for
from fakes.served import serve_app
from parley_runtime.app import bootstrap
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)

# A 1×1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
WAIT_MS = 10_000
# A plugin answering `/chart` with a picture.
CHART_PLUGIN = """
import base64
from parley_runtime.plugins.api import Answer, Image, Plugin

plugin = Plugin("chart")

@plugin.command("chart")
def chart(ctx, args):
    return Answer("Your **chart**:", images=[Image(base64.b64decode({png!r}), "image/png")])
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(text="Here is **bold** and `code`.") as srv:
        yield srv


@pytest.fixture(scope="module")
def base_url(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("web")
    route = {
        "name": "main",
        "provider": "openai-compatible",
        "model": fake.model,
        "baseURL": fake.url,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "main"}},
        "capabilities": ["vision"],
        "retries": 0,
        "timeout": "5s",
    }
    doc = chatbot_doc("demo", models={"routes": [route]}, plugins=[{"name": "chart"}])
    (folder / "bot.yaml").write_text(dump_yaml(doc))
    (folder / "plugins").mkdir()
    (folder / "plugins" / "chart.py").write_text(CHART_PLUGIN.format(png=base64.b64encode(PNG).decode()))
    (folder / "secrets" / "llm").mkdir(parents=True)
    (folder / "secrets" / "llm" / "main").write_text(key_for("main"))
    settings = RuntimeSettings(
        config_files=(folder / "bot.yaml",),
        secrets_dir=folder / "secrets",
        data_dir=folder / "data",
        plugins_dir=folder / "plugins",
        role="serve",
    )
    with serve_app(create_app(bootstrap.load(settings)), lifespan="on") as served:
        yield served.base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, base_url: str, fake: FakeOpenAI) -> Iterator[Page]:
    fake.clear()
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    opened.goto(base_url + "/")
    yield opened
    context.close()


def last_user_content(fake: FakeOpenAI) -> list[dict[str, Any]]:
    content = fake.requests[-1].body["messages"][-1]["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def test_a_reply_is_rendered_as_markdown(page: Page, fake: FakeOpenAI) -> None:
    page.fill("#input", "hello")
    page.press("#input", "Enter")
    expect(page.locator(".bot .md strong")).to_have_text("bold")
    expect(page.locator(".bot .md code")).to_have_text("code")
    expect(page.locator(".me")).to_have_text("hello")
    assert last_user_content(fake) == [{"type": "text", "text": "hello"}]


def test_an_attached_image_is_previewed_then_reaches_the_model(page: Page, fake: FakeOpenAI) -> None:
    page.set_input_files("#file", files=[FilePayload(name="dot.png", mimeType="image/png", buffer=PNG)])
    expect(page.locator("#previews img")).to_have_count(1)
    page.fill("#input", "what is this?")
    page.click("#send")
    expect(page.locator(".bot .md strong")).to_have_text("bold")
    expect(page.locator("#previews img")).to_have_count(0)  # sent: the preview is gone
    expect(page.locator(".me .media img")).to_have_count(1)
    parts = last_user_content(fake)
    images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert images == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert {"type": "text", "text": "what is this?"} in parts


def test_pictures_in_a_reply_are_shown(page: Page) -> None:
    page.fill("#input", "/chart")
    page.press("#input", "Enter")
    expect(page.locator(".bot .md strong")).to_have_text("chart")
    picture = page.locator(".bot .media img")
    expect(picture).to_have_count(1)
    assert picture.get_attribute("src") == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 1  # it decoded as an image


def test_a_pasted_image_is_previewed_and_can_be_removed(page: Page) -> None:
    page.evaluate(
        """bytes => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], "pasted.png", {type: "image/png"}));
            const input = document.getElementById("input");
            const paste = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
            input.dispatchEvent(paste);
        }""",
        list(PNG),
    )
    expect(page.locator("#previews img")).to_have_count(1)
    page.click("#previews button")
    expect(page.locator("#previews img")).to_have_count(0)


def test_markup_from_the_model_is_shown_never_run(page: Page, fake: FakeOpenAI) -> None:
    fake.push(
        Reply(
            text='<img src=x onerror="window.pwned=1"> [bad](javascript:window.pwned=2) **fine** <b>raw</b>'
        )
    )
    page.fill("#input", "attack me")
    page.press("#input", "Enter")
    expect(page.locator(".bot .md strong")).to_have_text("fine")
    assert page.locator(".bot img").count() == 0 and page.locator(".bot b").count() == 0
    assert page.locator(".bot a").count() == 0
    assert "<img src=x" in page.locator(".bot .md").inner_text()
    assert page.evaluate("window.pwned") is None


def link(href: str, text: str) -> str:
    return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{text}</a>'


@pytest.mark.parametrize(
    ("source", "html"),
    [
        (
            "**b** and *i* and _i2_ and ~~s~~",
            "<p><strong>b</strong> and <em>i</em> and <em>i2</em> and <del>s</del></p>",
        ),
        ("a `x < y` b", "<p>a <code>x &lt; y</code> b</p>"),
        ("```py\nif a < b:\n    **x**\n```", "<pre><code>if a &lt; b:\n    **x**</code></pre>"),
        ("# Title\n## Sub", "<h1>Title</h1><h2>Sub</h2>"),
        (
            "- one\n- **two**\n\n1. first\n2. second",
            "<ul><li>one</li><li><strong>two</strong></li></ul><ol><li>first</li><li>second</li></ol>",
        ),
        (
            "[docs](https://example.com/a_b?x=1&y=2)",
            f"<p>{link('https://example.com/a_b?x=1&amp;y=2', 'docs')}</p>",
        ),
        ("[no](javascript:alert(1))", "<p>[no](javascript:alert(1))</p>"),
        (
            '[q](https://x.test/"onmouseover="a)',
            f"<p>{link('https://x.test/&quot;onmouseover=&quot;a', 'q')}</p>",
        ),
        (
            "see https://example.com/snake_case_path.",
            f"<p>see {link('https://example.com/snake_case_path', 'https://example.com/snake_case_path')}.</p>",
        ),
        ("line one\nline two\n\nnext", "<p>line one<br>line two</p><p>next</p>"),
        ("> quoted", "<blockquote>quoted</blockquote>"),
        ("snake_case_name and 2*3*4", "<p>snake_case_name and 2*3*4</p>"),
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("---", "<hr>"),
    ],
)
def test_the_markdown_renderer(page: Page, source: str, html: str) -> None:
    assert page.evaluate("source => renderMarkdown(source)", source) == html


def test_reply_media_only_of_safe_kinds(page: Page) -> None:
    found = page.evaluate(
        """list => replyMedia(list)""",
        [
            {"kind": "image", "mime_type": "image/png", "data": "iVBORw0KGgo="},
            {"kind": "image", "mime_type": "text/html", "data": "PGI+"},
            {"kind": "image", "mime_type": "image/png", "url": "javascript:alert(1)"},
            {"kind": "image", "mime_type": "image/png", "url": "https://cdn.example.com/a.png"},
            {"kind": "audio", "mime_type": "audio/mpeg", "data": "SUQz"},
        ],
    )
    assert found == [
        {"kind": "image", "src": "data:image/png;base64,iVBORw0KGgo="},
        {"kind": "image", "src": "https://cdn.example.com/a.png"},
        {"kind": "audio", "src": "data:audio/mpeg;base64,SUQz"},
    ]
