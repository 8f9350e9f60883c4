"""The model's Markdown, rendered for each platform's markup and cut to its size limit (pure).

Models write CommonMark (plus tables and ~~strike~~); Telegram wants a small HTML subset, Slack its
mrkdwn, WeCom a Markdown subset, and a platform that refused our markup gets plain text. One walker over
markdown-it's syntax tree renders all four from a table of markup per target, so a construct is handled
once. `split_markdown` cuts the *source*, so each chunk renders on its own: never inside a code fence
unless the fence alone is too long, and then each piece is closed and reopened.
"""

import html
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

__all__ = [
    "MIN_LIMIT",
    "Measure",
    "split_markdown",
    "to_plain",
    "to_slack_mrkdwn",
    "to_telegram_html",
    "to_wecom_markdown",
]

Measure = Literal["chars", "utf16", "utf8"]

_PARSER = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_RULE = "———"


_Marks = tuple[str, str]  # (opening, closing)


def _same(text: str) -> str:
    return text


def _prefix_quote(inner: str, depth: int) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))


def _link_words(text: str, url: str, plain: str) -> str:
    """A link as readable text: the url alone when the text says nothing else."""
    return url if not plain.strip() or plain == url else f"{text} ({url})"


def _code_text(content: str, language: str) -> str:
    return content


@dataclass(frozen=True)
class _Style:
    """How one target writes each construct; the walker below decides where they go. The defaults are
    plain text, so a target names only the markup it has."""

    escape: Callable[[str], str] = _same
    # Markers around a node's content by markdown-it node type (`strong`, `em`, `s`, `code_inline`, whose
    # content is escaped text); a type left out is not marked.
    marks: Mapping[str, _Marks] = field(default_factory=dict)
    code_block: Callable[[str, str], str] = _code_text  # (content, language); a table's rows too
    link: Callable[[str, str, str], str] = _link_words  # (rendered text, url, plain text)
    heading: Callable[[int, str], str] | None = None  # None: the text marked as `strong`
    quote: Callable[[str, int], str] = _prefix_quote  # (rendered content, depth of enclosing quotes)

    def mark(self, kind: str, content: str) -> str:
        opening, closing = self.marks.get(kind, ("", ""))
        return f"{opening}{content}{closing}"


def _rows(rows: list[list[str]]) -> str:
    return "\n".join(" | ".join(row) for row in rows)


def _has_scheme(url: str) -> bool:
    """Telegram and Slack accept only absolute links; a relative one is shown as text."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url) is not None


def _tg_escape(text: str) -> str:
    return html.escape(text, quote=False)


def _tg_code_block(content: str, language: str) -> str:
    body = _tg_escape(content)
    if re.fullmatch(r"[\w+#.-]+", language):
        return f'<pre><code class="language-{language}">{body}</code></pre>'
    return f"<pre>{body}</pre>"


def _tg_link(text: str, url: str, plain: str) -> str:
    if not _has_scheme(url):
        return _link_words(text, _tg_escape(url), plain)
    return f'<a href="{html.escape(url, quote=True)}">{text if plain.strip() else _tg_escape(url)}</a>'


def _tg_quote(inner: str, depth: int) -> str:
    # Telegram refuses nested blockquotes; the inner ones stay plain content of the outer one.
    return f"<blockquote>{inner}</blockquote>" if depth == 0 else inner


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(text: str, url: str, plain: str) -> str:
    if not _has_scheme(url):
        return _link_words(text, _slack_escape(url), plain)
    target = _slack_escape(url).replace("|", "%7C")
    return f"<{target}>" if not plain.strip() or plain == url else f"<{target}|{text}>"


_TELEGRAM = _Style(
    escape=_tg_escape,
    marks={
        "strong": ("<b>", "</b>"),
        "em": ("<i>", "</i>"),
        "s": ("<s>", "</s>"),
        "code_inline": ("<code>", "</code>"),
    },
    code_block=_tg_code_block,
    link=_tg_link,
    quote=_tg_quote,
)
_SLACK = _Style(
    escape=_slack_escape,
    marks={"strong": ("*", "*"), "em": ("_", "_"), "s": ("~", "~"), "code_inline": ("`", "`")},
    code_block=lambda content, language: f"```\n{_slack_escape(content)}\n```",
    link=_slack_link,
)
_PLAIN = _Style()
_WECOM = _Style(
    marks={"strong": ("**", "**"), "code_inline": ("`", "`")},
    link=lambda text, url, plain: f"[{text if plain.strip() else url}]({url})",
    heading=lambda level, text: f"{'#' * level} {text}",
)


def to_telegram_html(md: str) -> str:
    """Markdown as Telegram's HTML parse mode: only its tags, always balanced, the rest escaped."""
    return _render(md, _TELEGRAM)


def to_slack_mrkdwn(md: str) -> str:
    """Markdown as Slack mrkdwn, with `&`, `<` and `>` escaped in text."""
    return _render(md, _SLACK)


def to_plain(md: str) -> str:
    """Markdown as readable plain text, for platforms without markup or that refused ours."""
    return _render(md, _PLAIN)


def to_wecom_markdown(md: str) -> str:
    """Markdown reduced to the subset WeCom's `markdown` message renders."""
    return _render(md, _WECOM)


def _render(md: str, style: _Style) -> str:
    root = SyntaxTreeNode(_PARSER.parse(md))
    return _blocks(root.children, style, 0, "\n\n").strip()


def _blocks(nodes: Sequence[SyntaxTreeNode], style: _Style, quotes: int, separator: str) -> str:
    return separator.join(part for node in nodes if (part := _block(node, style, quotes)))


def _block(node: SyntaxTreeNode, style: _Style, quotes: int) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inlines(node.children, style, in_link=False).strip()
    if kind == "heading":
        # A heading is bold already where the target can say so; bold inside it would nest the markers.
        unbolded = replace(style, marks={k: v for k, v in style.marks.items() if k != "strong"})
        text = _inlines(node.children, unbolded, in_link=False).strip()
        if not text:
            return ""
        return style.mark("strong", text) if style.heading is None else style.heading(int(node.tag[1:]), text)
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, style, quotes)
    if kind == "blockquote":
        inner = _blocks(node.children, style, quotes + 1, "\n\n")
        return style.quote(inner, quotes) if inner else ""
    if kind in ("fence", "code_block"):
        language = node.info.split()[0] if node.info.strip() else ""
        return style.code_block(node.content.rstrip("\n"), language)
    if kind == "hr":
        return _RULE
    if kind == "table":
        return style.code_block(_rows(_table_cells(node)), "")
    return style.escape(node.content.strip())  # html_block: shown, never passed through


def _table_cells(table: SyntaxTreeNode) -> list[list[str]]:
    """A table's cells as plain text: no target can put markup inside its table rendering, which is
    a code block of the rows."""
    rows = [row for section in table.children for row in section.children]
    return [[_inlines(cell.children, _PLAIN, in_link=False).strip() for cell in row.children] for row in rows]


def _list(node: SyntaxTreeNode, style: _Style, quotes: int) -> str:
    start = int(str(node.attrs.get("start", 1)))
    lines: list[str] = []
    for index, item in enumerate(node.children):
        marker = f"{start + index}. " if node.type == "ordered_list" else "• "
        first, *rest = _blocks(item.children, style, quotes, "\n").split("\n")
        lines.append((marker + first).rstrip())
        lines.extend(f"  {line}" if line else line for line in rest)
    return "\n".join(lines)


def _inlines(nodes: Sequence[SyntaxTreeNode], style: _Style, *, in_link: bool) -> str:
    return "".join(_inline(node, style, in_link=in_link) for node in nodes)


def _inline(node: SyntaxTreeNode, style: _Style, *, in_link: bool) -> str:
    kind = node.type
    if kind == "inline":
        return _inlines(node.children, style, in_link=in_link)
    if kind in ("softbreak", "hardbreak"):
        return "\n"
    if kind == "code_inline":
        return style.mark(kind, style.escape(node.content))
    if kind in ("strong", "em", "s"):
        return style.mark(kind, _inlines(node.children, style, in_link=in_link))
    if kind == "link":
        text = _inlines(node.children, style, in_link=True)
        return style.link(text, str(node.attrs["href"]), _text_of(node))
    if kind == "image":
        alt = _text_of(node)
        # A link inside a link is not valid anywhere, so an image within one shows only its alt text.
        return style.escape(alt) if in_link else style.link(style.escape(alt), str(node.attrs["src"]), alt)
    return style.escape(node.content)  # text, html_inline (escaped, never passed through)


def _text_of(node: SyntaxTreeNode) -> str:
    """The bare words of an inline node: what a link or image says, to compare with its url."""
    if node.type in ("softbreak", "hardbreak"):
        return "\n"
    if not node.children:
        return node.content
    return "".join(_text_of(child) for child in node.children)


# ---- Cutting the source ------------------------------------------------------------------------------

MIN_LIMIT = 16  # a fence pair and a character must fit into one chunk
_WIDEST = 4  # units of the widest character (UTF-8 bytes of an astral one)

_WIDTHS: dict[str, Callable[[str], int]] = {
    "chars": lambda char: 1,
    "utf16": lambda char: 2 if ord(char) > 0xFFFF else 1,
    "utf8": lambda char: len(char.encode("utf-8", "surrogatepass")),
}
_OPENING = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")
_BLANK_LINE = re.compile(r"[ \t]*\n")


@dataclass(frozen=True)
class _Fence:
    """A fenced code block: `start` is where its opening line begins, `end` where its last line ends."""

    start: int
    end: int
    opening: str
    closing: str | None  # None: the block runs to the end of the text
    body: list[str]


def _fences(text: str) -> list[_Fence]:
    """The fenced code blocks of `text` (any indentation, so fences inside list items count too)."""
    fences: list[_Fence] = []
    lines = text.split("\n")
    offsets = list(accumulate((len(line) + 1 for line in lines), initial=0))
    index = 0
    while index < len(lines):
        opened = _OPENING.fullmatch(lines[index])
        if opened is None or (opened[2][0] == "`" and "`" in opened[3]):
            index += 1
            continue
        closing = re.compile(rf"[ \t]*{re.escape(opened[2][0])}{{{len(opened[2])},}}\s*")
        end = next((j for j in range(index + 1, len(lines)) if closing.fullmatch(lines[j])), None)
        last = len(lines) - 1 if end is None else end
        fences.append(
            _Fence(
                start=offsets[index],
                end=offsets[last] + len(lines[last]),
                opening=lines[index],
                closing=None if end is None else lines[end],
                body=lines[index + 1 : last + 1 if end is None else end],
            )
        )
        index = last + 1
    return fences


def split_markdown(md: str, limit: int, *, measure: Measure = "chars") -> list[str]:
    """Markdown source in chunks of at most `limit` (characters, UTF-16 units or UTF-8 bytes).

    Cuts between blocks, else at a line end, else at a space, and mid-word only for a word longer than
    the limit; whitespace at a cut is dropped. A fenced code block stays whole unless it alone is too
    long; then it is cut at its lines and every piece carries its own opening and closing fence.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"a Markdown chunk limit must be at least {MIN_LIMIT}, not {limit}")
    if not md.strip():
        return []
    width = _WIDTHS[measure]
    if sum(map(width, md)) <= limit:
        return [md]
    chunks: list[str] = []
    start = 0
    whole: list[tuple[int, int]] = []  # fences that fit, relative to `start`
    for fence in _fences(md):
        if sum(map(width, md[fence.start : fence.end])) <= limit:
            whole.append((fence.start - start, fence.end - start))
            continue
        chunks += _pack(md[start : fence.start], limit, width, whole)
        chunks += _cut_fence(fence, limit, width)
        start, whole = fence.end, []
    return chunks + _pack(md[start:], limit, width, whole)


def _pack(text: str, limit: int, width: Callable[[str], int], keep: list[tuple[int, int]]) -> list[str]:
    """Greedy chunks of `text`, never cut strictly inside one of the `keep` spans (which each fit)."""
    total = list(accumulate(map(width, text), initial=0))
    inside = [False] * (len(text) + 1)
    for span_start, span_end in keep:
        inside[span_start + 1 : span_end] = [True] * (span_end - span_start - 1)
    cuts = _cut_points(text, keep, inside)
    chunks: list[str] = []
    start = _skip_blank(text, 0)
    while start < len(text):
        if total[-1] - total[start] <= limit:
            chunks.append(text[start:])
            break
        # At least one character, so a chunk is never empty (a character is at most 4 units, the limit more).
        furthest = max(bisect_right(total, total[start] + limit, start) - 1, start + 1)
        cut = _choose(cuts, start, furthest)
        if cut is None:  # mid-word; never into a kept span (one that starts here fits, so it ends by then)
            cut = furthest
            while inside[cut]:
                cut -= 1
        chunks.append(text[start:cut])
        start = _skip_blank(text, cut)
    return [chunk.rstrip() for chunk in chunks if chunk.strip()]


def _cut_points(text: str, keep: list[tuple[int, int]], inside: list[bool]) -> list[list[int]]:
    """Allowed cut positions, best kind first: between blocks, at line ends, at spaces."""
    blocks = {match.start() for match in re.finditer(r"\n[ \t]*\n", text)}
    blocks.update(edge for span in keep for edge in span if 0 < edge < len(text))
    lines = [match.start() for match in re.finditer("\n", text)]
    spaces = [match.start() for match in re.finditer("[ \t]", text)]
    return [[cut for cut in kind if not inside[cut]] for kind in (sorted(blocks), lines, spaces)]


def _choose(cuts: list[list[int]], start: int, furthest: int) -> int | None:
    """The best cut in (start, furthest]: the best kind in the window's second half (a chunk cut
    early to honour a paragraph end would be uselessly short), else the latest of any kind."""
    latest = [kind[i] for kind in cuts if (i := bisect_right(kind, furthest) - 1) >= 0 and kind[i] > start]
    for cut in latest:
        if cut > start + (furthest - start) // 2:
            return cut
    return max(latest, default=None)


def _skip_blank(text: str, index: int) -> int:
    """Past the whitespace at a cut, keeping the indentation of the line the next chunk starts with."""
    if index < len(text) and text[index - 1 : index] not in ("", "\n"):
        index = len(text) - len(text[index:].lstrip(" \t"))
    while (blank := _BLANK_LINE.match(text, index)) is not None:
        index = blank.end()
    return index


def _cut_fence(fence: _Fence, limit: int, width: Callable[[str], int]) -> list[str]:
    """A code block too long for one chunk, cut at its lines; each piece is closed and reopened."""
    opening, closing = fence.opening, fence.closing
    marker = _OPENING.fullmatch(opening)
    assert marker is not None
    reclose = closing if closing is not None else f"{marker[1]}{marker[2]}"
    budget = limit - sum(map(width, f"{opening}\n\n{reclose}"))
    if budget < _WIDEST:  # the fence lines leave no room for a character: fall back to the shortest fence
        opening = reclose = marker[2][0] * 3
        budget = limit - sum(map(width, f"{opening}\n\n{reclose}"))
    pieces: list[str] = []
    lines: list[str] = []
    size = -1
    for line in fence.body:
        line_width = sum(map(width, line))
        if lines and size + 1 + line_width > budget:
            pieces.append("\n".join(lines))
            lines, size = [], -1
        if line_width > budget:
            pieces += _pack(line, budget, width, [])
            continue
        lines.append(line)
        size += 1 + line_width
    if lines:
        pieces.append("\n".join(lines))
    chunks = [f"{opening}\n{piece}\n{reclose}" for piece in pieces] or [f"{opening}\n{reclose}"]
    if closing is None:  # the source left the block open to the end; so does its last piece
        chunks[-1] = chunks[-1].removesuffix(f"\n{reclose}").rstrip()
    return chunks
