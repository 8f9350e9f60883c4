"""platforms.common.http: statuses mapped to send errors, with the wait the platform asked for."""

import email.utils
import time

import httpx
import pytest

from parley_runtime.platforms.common import http as common_http
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://api.example.test/bot123:secret/sendMessage")
    return httpx.Response(status, headers=headers, request=request)


def test_success_is_no_error() -> None:
    assert common_http.error_for_status("p", response(200)) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_4xx_are_permanent(status: int) -> None:
    assert isinstance(common_http.error_for_status("p", response(status)), PermanentSendError)


def test_429_with_delta_seconds() -> None:
    error = common_http.error_for_status("p", response(429, {"Retry-After": "7"}))
    assert isinstance(error, RetryableSendError) and error.retry_after == 7.0
    assert "secret" not in str(error) and "sendMessage" in str(error)


def test_503_with_an_http_date() -> None:
    until = email.utils.formatdate(time.time() + 30, usegmt=True)
    error = common_http.error_for_status("p", response(503, {"Retry-After": until}))
    assert isinstance(error, RetryableSendError) and error.retry_after is not None
    assert 25.0 < error.retry_after <= 30.0


def test_an_unreadable_retry_after_is_still_a_retryable_error() -> None:
    error = common_http.error_for_status("p", response(429, {"Retry-After": "soon"}))
    assert isinstance(error, RetryableSendError) and error.retry_after is None
