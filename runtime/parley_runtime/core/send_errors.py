"""Errors adapters raise when sending; the outbound sender decides retry or dead-letter from them.

SendError                 -- base: carries the platform and a message without secrets
├── RetryableSendError    -- 429, 5xx, timeouts, connection errors; `retry_after` when the platform says
└── PermanentSendError    -- anything a retry cannot fix (4xx, invalid recipient, expired context)
"""


class SendError(Exception):
    retryable = False

    def __init__(self, platform: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{platform}: {message}")
        self.platform = platform
        self.retry_after = retry_after


class RetryableSendError(SendError):
    retryable = True


class PermanentSendError(SendError):
    retryable = False
