"""Which texts are commands, and what the handler receives as arguments."""

import pytest

from parley_runtime.plugins.commands import ParsedCommand, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/weather 北京", ParsedCommand("weather", "北京", None)),
        ("/weather", ParsedCommand("weather", "", None)),
        ("  /weather   Paris  ", ParsedCommand("weather", "Paris", None)),
        ("/weather@helpdesk_bot Paris", ParsedCommand("weather", "Paris", "helpdesk_bot")),
        ("/help@helpdesk_bot", ParsedCommand("help", "", "helpdesk_bot")),
        ("/Weather Rome", ParsedCommand("weather", "Rome", None)),
        ("／weather 上海", ParsedCommand("weather", "上海", None)),
        ("/note line one\nline two", ParsedCommand("note", "line one\nline two", None)),
        ("/http-fetch x", ParsedCommand("http-fetch", "x", None)),
    ],
)
def test_commands_are_recognised(text: str, expected: ParsedCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text", ["hello", "", "/", "/ weather", "/usr/bin/env", "what does /help do?", "//comment", "/天气 北京"]
)
def test_other_text_is_not_a_command(text: str) -> None:
    assert parse(text) is None
