"""Cutting Markdown source for a platform's size limit: within the limit in each platform's units, nothing
visible lost or reordered, code fences never left open, words cut only when longer than the limit."""

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley_runtime.platforms.common.markdown import Measure, split_markdown

# Counted here independently of the module, as each platform documents its limit.
MEASURES: dict[Measure, Callable[[str], int]] = {
    "chars": len,
    "utf16": lambda text: len(text.encode("utf-16-le")) // 2,
    "utf8": lambda text: len(text.encode()),
}

# Multi-byte (é, 中) and astral (😀: 4 UTF-8 bytes, a UTF-16 surrogate pair) characters are frequent.


def _prose(max_word: int) -> st.SearchStrategy[str]:
    words = st.text(alphabet=st.sampled_from(list("ab😀é中")), min_size=1, max_size=max_word)
    gaps = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  \n"])
    return st.lists(st.tuples(words, gaps), min_size=1, max_size=40).map(
        lambda pairs: "".join(word + gap for word, gap in pairs)
    )


prose = _prose(max_word=30)
short_word_prose = _prose(max_word=3)  # at most 12 units in any measure: below every limit tested
code_lines = st.text(alphabet=st.sampled_from(list("ab x=()😀中")), max_size=30)


@st.composite
def fences(draw: st.DrawFn) -> str:
    marker = draw(st.sampled_from(["```", "~~~", "````", "~~~~~"]))
    info = draw(st.sampled_from(["", "py", "python title=x"]))
    indent = draw(st.sampled_from(["", "  "]))
    body = draw(st.lists(code_lines, max_size=12))
    return "\n".join([f"{indent}{marker}{info}", *body, f"{indent}{marker}"])


documents = st.lists(prose | fences(), min_size=1, max_size=6).flatmap(
    lambda blocks: st.sampled_from(["\n", "\n\n"]).map(lambda gap: gap.join(blocks))
)
measures = st.sampled_from(list(MEASURES))
limits = st.integers(min_value=16, max_value=90)


def _is_fence_line(line: str) -> bool:
    return line.lstrip().startswith(("```", "~~~"))


def _visible(text: str) -> str:
    return "".join(text.split())


def _visible_without_fences(text: str) -> str:
    return _visible("\n".join(line for line in text.split("\n") if not _is_fence_line(line)))


def _is_subsequence(short: str, long: str) -> bool:
    rest = iter(long)
    return all(char in rest for char in short)


@given(documents, limits, measures)
def test_every_chunk_fits_and_nothing_visible_is_lost(document: str, limit: int, measure: Measure) -> None:
    chunks = split_markdown(document, limit, measure=measure)
    assert all(MEASURES[measure](chunk) <= limit for chunk in chunks)
    assert all(chunk.strip() for chunk in chunks)
    joined = "\n".join(chunks)
    # Fence lines are repeated where a long code block is cut; everything else appears once, in order.
    assert _visible_without_fences(joined) == _visible_without_fences(document)
    if limit >= 40:  # below that the longest fence pair generated here must be shortened
        assert _is_subsequence(_visible(document), _visible(joined))


@given(documents, limits, measures)
def test_no_chunk_leaves_a_code_fence_open(document: str, limit: int, measure: Measure) -> None:
    for chunk in split_markdown(document, limit, measure=measure):
        assert sum(_is_fence_line(line) for line in chunk.split("\n")) % 2 == 0, chunk


@given(short_word_prose, limits, measures)
def test_words_shorter_than_the_limit_are_never_cut(text: str, limit: int, measure: Measure) -> None:
    chunks = split_markdown(text, limit, measure=measure)
    assert [word for chunk in chunks for word in chunk.split()] == text.split()


@given(st.text(alphabet=st.sampled_from(list("中文😀👍🏽é")), min_size=1, max_size=200), limits, measures)
def test_text_without_spaces_is_cut_between_characters(text: str, limit: int, measure: Measure) -> None:
    chunks = split_markdown(text, limit, measure=measure)
    assert "".join(chunks) == text
    for chunk in chunks:
        assert MEASURES[measure](chunk) <= limit
        chunk.encode("utf-8")  # a lone surrogate (half an emoji) would not encode


def test_a_text_within_the_limit_is_returned_unchanged() -> None:
    text = "  *hello*\n\n"
    assert split_markdown(text, 16) == [text]
    assert split_markdown("😀" * 4, 16, measure="utf8") == ["😀" * 4]


def test_blank_text_gives_no_chunk() -> None:
    assert split_markdown("", 100) == []
    assert split_markdown(" \n\n\t", 100) == []


def test_a_limit_too_small_for_a_fence_pair_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        split_markdown("anything", 15)


def test_utf8_bytes_are_counted() -> None:
    # 6 Chinese characters are 18 bytes: one character too many for 16 bytes.
    assert split_markdown("中文中文中文", 16, measure="utf8") == ["中文中文中", "文"]
    assert split_markdown("😀" * 9, 16, measure="utf16") == ["😀" * 8, "😀"]


def test_a_cut_between_paragraphs_is_preferred_to_one_inside_a_paragraph() -> None:
    text = "First paragraph, quite long.\n\nSecond one here.\nStill second."
    assert split_markdown(text, 48) == ["First paragraph, quite long.", "Second one here.\nStill second."]


def test_a_line_end_is_preferred_to_a_space() -> None:
    text = "one two three four\nfive six seven eight nine"
    assert split_markdown(text, 30) == ["one two three four", "five six seven eight nine"]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_markdown("ab " + "x" * 40, 16) == ["ab", "x" * 16, "x" * 16, "x" * 8]


def test_a_code_block_that_fits_moves_whole_to_the_next_chunk() -> None:
    code = "```py\nprint(1)\nprint(2)\n```"
    text = f"Intro words here.\n{code}\nOutro words follow here."
    assert split_markdown(text, 36) == ["Intro words here.", code, "Outro words follow here."]


def test_a_long_code_block_is_cut_at_lines_and_each_piece_fenced() -> None:
    text = "Look:\n\n~~~~python\n" + "\n".join(f"x = {i}" for i in range(6)) + "\n~~~~\n\nDone."
    assert split_markdown(text, 34) == [
        "Look:",
        "~~~~python\nx = 0\nx = 1\nx = 2\n~~~~",
        "~~~~python\nx = 3\nx = 4\nx = 5\n~~~~",
        "Done.",
    ]


def test_a_code_line_longer_than_the_limit_is_cut_inside_its_fences() -> None:
    text = "```\n" + "y" * 30 + "\n```"
    assert split_markdown(text, 20) == [
        "```\n" + "y" * 12 + "\n```",
        "```\n" + "y" * 12 + "\n```",
        "```\n" + "y" * 6 + "\n```",
    ]


def test_a_fence_left_open_stays_open_in_its_last_piece() -> None:
    text = "```\n" + "abc\n" * 6
    assert split_markdown(text, 20) == ["```\nabc\nabc\nabc\n```", "```\nabc\nabc\nabc"]


def test_indentation_of_the_line_after_a_cut_is_kept() -> None:
    text = "- item one is long enough\n  - nested item"
    assert split_markdown(text, 30) == ["- item one is long enough", "  - nested item"]


def test_fence_lines_too_long_for_the_limit_are_shortened() -> None:
    text = "```python title=example\n" + "z\n" * 10 + "```"
    # 16 - len("```\n\n```") leaves 8 for the code: four lines.
    assert split_markdown(text, 16) == ["```\nz\nz\nz\nz\n```", "```\nz\nz\nz\nz\n```", "```\nz\nz\n```"]
