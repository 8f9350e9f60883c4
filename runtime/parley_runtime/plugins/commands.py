"""Recognising a command in message text. Pure.

`/name args`, `/name@botname args` (Telegram appends the bot's username in groups) and the
full-width slash `／` that Chinese input methods produce are all commands; the name is matched
case-insensitively. Text such as `/usr/bin/env` is not a command: a name must end at a space, `@`
or the end of the text.
"""

import re
from dataclasses import dataclass

_COMMAND = re.compile(r"[/／]([A-Za-z0-9_][-A-Za-z0-9_]{0,31})(?:@(\S*))?(?:\s+(.*))?", re.DOTALL)


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # lower-cased
    args: str  # the rest of the text, stripped
    mention: str | None  # the @botname suffix, if any


def parse(text: str) -> ParsedCommand | None:
    found = _COMMAND.fullmatch(text.strip())
    if found is None:
        return None
    name, mention, args = found.groups()
    return ParsedCommand(name.lower(), (args or "").strip(), mention or None)
