"""Errors of the Kubernetes API, as the operator sees them.

Exception
└── ApiError           -- the API answered with an error status, or could not be reached (status 0)
    ├── NotFound       -- 404
    └── Conflict       -- 409: already exists, or a concurrent write

Messages carry the API's one-line `message` (cut short), never a request or response body: a
Secret's body must not end up in a log through an exception.
"""

_MAX_MESSAGE = 300


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str = "") -> None:
        self.status = status
        self.reason = reason
        self.message = message[:_MAX_MESSAGE]
        super().__init__(f"{status} {reason}: {self.message}" if self.message else f"{status} {reason}")


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


def for_status(status: int, reason: str, message: str) -> ApiError:
    if status == 404:
        return NotFound(status, reason, message)
    if status == 409:
        return Conflict(status, reason, message)
    return ApiError(status, reason, message)
