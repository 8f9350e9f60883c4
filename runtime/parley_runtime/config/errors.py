"""Configuration errors: every problem is one human line naming the file and the field path.

ConfigError            -- raised by the loader and the secret resolver; carries all problems
"""

import difflib
import json
import re
from collections.abc import Sequence

from pydantic import ValidationError


class ConfigError(Exception):
    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        if not self.problems:
            return "invalid configuration"
        more = len(self.problems) - 1
        return self.problems[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def field_path(loc: Sequence[int | str]) -> str:
    """`("spec", "models", "routes", 0, "weight")` → `spec.models.routes[0].weight`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += ("." if out else "") + part
        else:  # keys from user input may hold anything, newlines included: quote them
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-$@]+")


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice a mistyped `word` most likely meant, for "did you mean …?": the closest spelling,
    else the only choice that starts with it (`azure` → `azure-openai`); None when nothing fits."""
    wanted = word.strip().lower()
    close = difflib.get_close_matches(wanted, choices, n=1)
    if close:
        return close[0]
    starting = [c for c in choices if len(wanted) >= 3 and c.startswith(wanted)]
    return starting[0] if len(starting) == 1 else None


def describe_validation_error(prefix: str, exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        path = field_path(err["loc"]) or "(document)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"{prefix}: {path}: {msg}")
    return lines
