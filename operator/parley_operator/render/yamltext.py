"""YAML text for humans and diffs: no anchors, multi-line strings as literal blocks, keys as given."""

from collections.abc import Iterable
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Literal blocks cannot hold trailing spaces; such strings keep the default quoted style.
    block = "\n" in text and all(line == line.rstrip() for line in text.splitlines())
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if block else None)


_Dumper.add_representer(str, _str)


def dump_all(documents: Iterable[Any], *, sort_keys: bool = False) -> str:
    return yaml.dump_all(
        list(documents),
        Dumper=_Dumper,
        sort_keys=sort_keys,
        explicit_start=True,
        allow_unicode=True,
        width=100,
    )
