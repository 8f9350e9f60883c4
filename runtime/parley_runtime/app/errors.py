"""Bad request bodies become one readable line: 400 for broken JSON, 422 for the wrong shape."""

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.responses import JSONResponse


def invalid_body(errors: Iterable[Mapping[str, Any]]) -> JSONResponse:
    errors = list(errors)
    problems = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = "invalid JSON" if err.get("type") == "json_invalid" else err.get("msg", "invalid")
        problems.append(f"{loc}: {msg}" if loc else msg)
    status = 400 if any(e.get("type") == "json_invalid" for e in errors) else 422
    return JSONResponse({"error": "; ".join(problems) or "invalid request"}, status_code=status)
