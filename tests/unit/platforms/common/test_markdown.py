"""Rendering the model's Markdown for each platform: Telegram's HTML subset (always well formed, raw HTML
never passed through), Slack mrkdwn (escaped), WeCom's Markdown subset and readable plain text."""

from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley_runtime.platforms.common.markdown import (
    to_plain,
    to_slack_mrkdwn,
    to_telegram_html,
    to_wecom_markdown,
)

# Fragments that combine into every construct the renderers handle, well formed or not.
FRAGMENTS = [
    "**", "*", "_", "__", "~~", "`", "```", "```py\n", "~~~\n", "[a](https://x.io/?q=1&r=2)", "[rel](p)",
    "![img](https://i.io/p.png)", "[", "](", ")", "<b>", "</i>", "<https://a.io>", "&", "&amp;", '"', "<",
    ">", "> ", "- ", "* ", "1. ", "7) ", "# ", "### ", "\n", "\n\n", "  ", "    ", "| a | b |\n|---|---|\n",
    "| 1 | **2** |\n", "---\n", "text", "word", "\\*", "😀", "<div>\n", "  \n",
]  # fmt: skip
markdown = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)


class _TelegramHtml(HTMLParser):
    """Fails on anything Telegram's HTML parse mode would refuse."""

    TAGS = frozenset({"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.TAGS, tag
        assert not {"pre", "code"} & set(self.open) or (tag == "code" and self.open[-1] == "pre"), self.open
        assert tag not in ("a", "blockquote") or tag not in self.open, "Telegram does not nest these"
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
        elif tag == "code" and attrs:
            assert len(attrs) == 1 and attrs[0][0] == "class" and (attrs[0][1] or "").startswith("language-")
        else:
            assert not attrs
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> does not close the innermost tag"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_data(self, data: str) -> None:
        assert not set("<>&") & set(data), data

    def handle_entityref(self, name: str) -> None:
        assert name in ("lt", "gt", "amp", "quot"), name

    def handle_charref(self, name: str) -> None:
        raise AssertionError(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        raise AssertionError("comment")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration")


def _assert_telegram_html(text: str) -> None:
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    assert parser.rawdata == "", "unparsed rest"
    assert parser.open == [], f"unclosed {parser.open}"


@given(markdown)
def test_telegram_html_is_always_well_formed(md: str) -> None:
    _assert_telegram_html(to_telegram_html(md))


@given(st.text(max_size=200))
def test_every_renderer_takes_any_text(md: str) -> None:
    _assert_telegram_html(to_telegram_html(md))
    for render in (to_slack_mrkdwn, to_plain, to_wecom_markdown):
        assert isinstance(render(md), str)


def test_the_checker_refuses_what_telegram_refuses() -> None:
    for bad in ("<b>x", "<b><i>x</b></i>", "<span>x</span>", "a < b", "<pre><b>x</b></pre>", "<br/>"):
        with pytest.raises(AssertionError):
            _assert_telegram_html(bad)


# ---- Telegram -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("md", "html"),
    [
        ("**b** *i* ~~s~~ `c<d`", "<b>b</b> <i>i</i> <s>s</s> <code>c&lt;d</code>"),
        (
            "```python\nif a < b:\n    pass\n```",
            '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>',
        ),
        ("```\nplain & simple\n```", "<pre>plain &amp; simple</pre>"),
        ("    indented code", "<pre>indented code</pre>"),
        ("```c{x}\ny\n```", "<pre>y</pre>"),
        ("[docs](https://e.io/?a=1&b=2)", '<a href="https://e.io/?a=1&amp;b=2">docs</a>'),
        ("[**bold** link](https://e.io)", '<a href="https://e.io"><b>bold</b> link</a>'),
        ("<https://e.io/x>", '<a href="https://e.io/x">https://e.io/x</a>'),
        ("[relative](docs/x.md)", "relative (docs/x.md)"),
        ("![a cat](https://i.io/cat.png)", '<a href="https://i.io/cat.png">a cat</a>'),
        ("[![logo](https://i.io/l.png)](https://e.io)", '<a href="https://e.io">logo</a>'),
        ("# Title **x**\nbody", "<b>Title x</b>\n\nbody"),
        ("one\ntwo  \nthree\n\nfour", "one\ntwo\nthree\n\nfour"),
        ("- a\n  - b\n    - c\n- d", "• a\n  • b\n    • c\n• d"),
        ("3. three\n4. four", "3. three\n4. four"),
        ("> quoted **x**\n> > inner", "<blockquote>quoted <b>x</b>\n\ninner</blockquote>"),
        ("| a | b |\n|---|---|\n| 1 | **<2>** |", "<pre>a | b\n1 | &lt;2&gt;</pre>"),
        (
            "a <b>raw</b> & <script>x</script>",
            "a &lt;b&gt;raw&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;",
        ),
        ("<div onclick=x>\nblock\n</div>", "&lt;div onclick=x&gt;\nblock\n&lt;/div&gt;"),
        ("a\n\n---\n\nb", "a\n\n———\n\nb"),
        ("", ""),
    ],
)
def test_telegram_html(md: str, html: str) -> None:
    assert to_telegram_html(md) == html
    _assert_telegram_html(html)


def test_telegram_link_quotes_are_escaped_in_href() -> None:
    # markdown-it percent-encodes a quote in a destination; either way it cannot end the attribute.
    rendered = to_telegram_html('[x](<https://e.io/a"b>)')
    assert rendered in ('<a href="https://e.io/a%22b">x</a>', '<a href="https://e.io/a&quot;b">x</a>')


# ---- Slack ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("md", "mrkdwn"),
    [
        ("**b** *i* ~~s~~ `c`", "*b* _i_ ~s~ `c`"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ("`x<y`", "`x&lt;y`"),
        ("```py\nif a < b: pass\n```", "```\nif a &lt; b: pass\n```"),
        ("[docs](https://e.io/?a=1&b=2)", "<https://e.io/?a=1&amp;b=2|docs>"),
        ("<https://e.io>", "<https://e.io>"),
        ("![pic](https://i.io/p.png)", "<https://i.io/p.png|pic>"),
        ("[rel](x/y)", "rel (x/y)"),
        ("## Heading **b**", "*Heading b*"),
        ("- a\n- b\n  1. c", "• a\n• b\n  1. c"),
        ("> a\n>\n> b", "> a\n>\n> b"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "```\na | b\n1 | 2\n```"),
        ("<b>raw</b>", "&lt;b&gt;raw&lt;/b&gt;"),
    ],
)
def test_slack_mrkdwn(md: str, mrkdwn: str) -> None:
    assert to_slack_mrkdwn(md) == mrkdwn


# ---- Plain ----------------------------------------------------------------------------------------

LLM_ANSWER = """## Install

Run **pip** to install [the package](https://pypi.org/p/x):

1. Create a *virtual* environment
2. Install it:

```bash
pip install x
```

See <https://docs.x.io> for ~~less~~ more & `details`.
"""


def test_plain_reads_like_the_answer() -> None:
    assert to_plain(LLM_ANSWER) == (
        "Install\n\n"
        "Run pip to install the package (https://pypi.org/p/x):\n\n"
        "1. Create a virtual environment\n"
        "2. Install it:\n\n"
        "pip install x\n\n"
        "See https://docs.x.io for less more & details."
    )


@pytest.mark.parametrize(
    ("md", "plain"),
    [
        ("![a cat](https://i.io/c.png)", "a cat (https://i.io/c.png)"),
        ("![](https://i.io/c.png)", "https://i.io/c.png"),
        ("[https://e.io](https://e.io)", "https://e.io"),
        ("> a\n> - b", "> a\n>\n> • b"),
        ("5. a\n   - b", "5. a\n  • b"),
        ("| a | b |\n|---|---|\n| [l](https://e.io) | `c` |", "a | b\nl (https://e.io) | c"),
        ("x <b>y</b> &amp; z", "x <b>y</b> & z"),
    ],
)
def test_plain(md: str, plain: str) -> None:
    assert to_plain(md) == plain


# ---- WeCom ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("md", "wecom"),
    [
        ("# Title\n### Sub *x*", "# Title\n\n### Sub x"),
        ("**b** *i* ~~s~~ `c`", "**b** i s `c`"),
        ("[docs](https://e.io)", "[docs](https://e.io)"),
        ("![pic](https://i.io/p.png)", "[pic](https://i.io/p.png)"),
        ("> quoted\n> more", "> quoted\n> more"),
        ("- a\n- b\n\n2. c", "• a\n• b\n\n2. c"),
        ("```py\nx = 1\n```", "x = 1"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "a | b\n1 | 2"),
    ],
)
def test_wecom_markdown(md: str, wecom: str) -> None:
    assert to_wecom_markdown(md) == wecom
