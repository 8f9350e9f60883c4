"""Bad request bodies become one readable line: 400 for broken JSON, 422 for the wrong shape."""

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.responses import JSONResponse


def describe(errors: Iterable[Mapping[str, Any]]) -> str:
    """pydantic's errors as one line: `messages.0.role: Input should be …; model: Field required`."""
    problems = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = "invalid JSON" if err.get("type") == "json_invalid" else err.get("msg", "invalid")
        problems.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(problems) or "invalid request"


def invalid_body(errors: Iterable[Mapping[str, Any]]) -> JSONResponse:
    errors = list(errors)
    status = 400 if any(e.get("type") == "json_invalid" for e in errors) else 422
    return JSONResponse({"error": describe(errors)}, status_code=status)
