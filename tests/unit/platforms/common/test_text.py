"""The shared reply splitters: every chunk within the limit, nothing lost but the break characters, no
empty chunk, and breaks taken at a newline (or space) in the second half of a window only."""

from hypothesis import given
from hypothesis import strategies as st

from parley_runtime.platforms.common import text

# Short alphabets make breaks, blank runs, multi-byte and astral (surrogate-pair) characters frequent.
replies = st.text(alphabet=st.sampled_from(list("ab \n\t😀é中")), max_size=300)
unbroken = st.text(alphabet=st.sampled_from(list("ab😀é中")), max_size=300)
limits = st.integers(min_value=4, max_value=50)


def _squeezed(value: str) -> str:
    return "".join(value.split())


@given(replies, limits)
def test_split_text_keeps_every_visible_character_within_the_limit(reply: str, limit: int) -> None:
    chunks = text.split_text(reply, limit)
    assert all(0 < len(chunk) <= limit and chunk.strip() for chunk in chunks)
    assert _squeezed("".join(chunks)) == _squeezed(reply)


@given(replies, limits)
def test_split_text_counts_utf16_units_when_asked(reply: str, limit: int) -> None:
    chunks = text.split_text(reply, limit, utf16=True)
    assert all(0 < text.utf16_len(chunk) <= limit and chunk.strip() for chunk in chunks)
    assert _squeezed("".join(chunks)) == _squeezed(reply)


@given(unbroken, limits)
def test_split_text_without_breaks_is_a_plain_cut(reply: str, limit: int) -> None:
    chunks = text.split_text(reply, limit)
    assert "".join(chunks) == reply
    assert all(len(chunk) == limit for chunk in chunks[:-1])


def test_split_text_prefers_a_newline_then_a_space_and_drops_it() -> None:
    assert text.split_text("aaaaaa bb\ncc", 10) == ["aaaaaa bb", "cc"]
    assert text.split_text("aaaaaa bbbbbb", 10) == ["aaaaaa", "bbbbbb"]
    # A break in the first half would make a uselessly short chunk: cut hard instead.
    assert text.split_text("a\nbbbbbbbbbbbb", 10) == ["a\nbbbbbbbb", "bbbb"]


def test_split_text_never_cuts_a_surrogate_pair() -> None:
    assert text.split_text("a" + "😀" * 3, 4, utf16=True) == ["a😀", "😀😀"]
    assert text.split_text("   \n  ", 3) == []


@given(replies, limits)
def test_split_utf8_keeps_everything_within_the_byte_limit(reply: str, limit: int) -> None:
    chunks = text.split_utf8(reply, limit)
    assert chunks and all(chunk and len(chunk.encode()) <= limit for chunk in chunks)
    assert _squeezed("".join(chunks)) == _squeezed(reply)


@given(unbroken, limits)
def test_split_utf8_loses_nothing(reply: str, limit: int) -> None:
    assert "".join(text.split_utf8(reply, limit)) == (reply or " ")


def test_split_utf8_ends_a_chunk_after_a_late_newline() -> None:
    assert text.split_utf8("abcdef\nghij", 8) == ["abcdef\n", "ghij"]
    assert text.split_utf8("中中中", 7) == ["中中", "中"]  # 3 bytes each
    assert text.split_utf8("", 10) == [" "]  # the APIs refuse an empty message


@given(replies, st.integers(min_value=1, max_value=50))
def test_split_chars_keeps_everything_within_the_limit(reply: str, limit: int) -> None:
    chunks = text.split_chars(reply, limit)
    assert chunks and all(chunk and len(chunk) <= limit for chunk in chunks)
    assert _squeezed("".join(chunks)) == _squeezed(reply)


def test_split_chars_counts_characters_not_bytes() -> None:
    assert text.split_chars("中中中\n中中", 4) == ["中中中\n", "中中"]
    assert text.split_chars("abc", 3) == ["abc"]


def test_break_index_only_in_the_second_half() -> None:
    assert text.break_index("abcde\nfg", "\n") == 5
    assert text.break_index("abcd\nfgh", "\n") == -1  # exactly half is not past it
    assert text.break_index("ab\ndefgh", "\n") == -1
    assert text.break_index("abcde fgh", "\n ") == 5
