"""One problem = one line: `FILE: Kind/name: field.path: message`."""

from collections.abc import Sequence
from dataclasses import dataclass

from parley_runtime.config.errors import field_path


@dataclass(frozen=True, order=True)
class Problem:
    source: str
    subject: str  # `Kind/name`, or "" for problems with the file itself
    path: str  # `spec.models.routes[0].weight`, or "" for the whole object
    message: str

    def line(self) -> str:
        parts = [self.source, self.subject, self.path, self.message]
        return ": ".join(p for p in parts if p)


def path_of(loc: Sequence[int | str]) -> str:
    return field_path(list(loc))
