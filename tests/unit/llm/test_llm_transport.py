"""Error mapping, key scrubbing and SSE parsing of the shared HTTP seam (no network)."""

import email.utils
import time

import httpx
import pytest

from parley_runtime.core import media
from parley_runtime.llm import errors, transport


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://api.example.test/v1/chat/completions?key=abc")
    return httpx.Response(status, content=body, headers=headers, request=request)


def test_5xx_and_429_are_retryable_with_retry_after() -> None:
    err = transport.error_for_response("r", response(429, headers={"retry-after": "2"}), b"", None)
    assert isinstance(err, errors.RetryableError) and err.retry_after == 2.0 and err.status == 429
    assert isinstance(transport.error_for_response("r", response(503), b"", None), errors.RetryableError)


def test_retry_after_as_an_http_date_is_honoured() -> None:
    until = email.utils.formatdate(time.time() + 30, usegmt=True)
    err = transport.error_for_response("r", response(503, headers={"Retry-After": until}), b"", None)
    assert isinstance(err, errors.RetryableError) and err.retry_after is not None
    assert 25.0 < err.retry_after <= 30.0


def test_other_4xx_are_fatal_and_request_specific_ones_spare_the_circuit() -> None:
    unauthorized = transport.error_for_response("r", response(401), b"", None)
    bad_request = transport.error_for_response("r", response(400), b"", None)
    assert isinstance(unauthorized, errors.FatalError) and unauthorized.counts_against_route
    assert isinstance(bad_request, errors.FatalError) and not bad_request.counts_against_route


def test_message_names_host_and_provider_text_but_never_the_key_or_query() -> None:
    body = b'{"error": {"message": "Incorrect API key provided: sk-live-123456", "type": "auth"}}'
    err = transport.error_for_response("main", response(401, body), body, "sk-live-123456")
    text = str(err)
    assert text.startswith(
        "route main: HTTP 401 from api.example.test: Incorrect API key provided: [redacted]"
    )
    assert "sk-live-123456" not in text and "key=abc" not in text


def test_gemini_list_wrapped_error_body_is_read() -> None:
    body = b'[{"error": {"code": 503, "message": "model overloaded"}}]'
    assert "model overloaded" in str(transport.error_for_response("g", response(503, body), body, None))


def test_scrub_cuts_long_text() -> None:
    assert len(transport.scrub("x" * 1000, None)) == 200


async def test_sse_events_groups_lines_and_names_events() -> None:
    raw = b'event: message_start\ndata: {"a": 1}\n\n: a comment\ndata: line1\ndata: line2\n\ndata: [DONE]'
    events = [e async for e in transport.sse_events(response(200, raw))]
    assert events == [("message_start", '{"a": 1}'), ("", "line1\nline2"), ("", "[DONE]")]


async def test_sse_events_accept_crlf_and_no_space_after_colon() -> None:
    raw = b'data:{"x":1}\r\n\r\n'
    assert [e async for e in transport.sse_events(response(200, raw))] == [("", '{"x":1}')]


def test_parse_event_json_rejects_non_objects() -> None:
    with pytest.raises(errors.FatalError):
        transport.parse_event_json("r", "[1, 2]")
    with pytest.raises(errors.FatalError):
        transport.parse_event_json("r", "not json")


def test_data_urls_split_and_other_urls_get_a_guessed_type() -> None:
    assert media.split_data_url("data:image/webp;base64,AAAA") == ("image/webp", "AAAA")
    assert media.split_data_url("https://x.test/a.png") is None
    assert media.split_data_url("data:text/plain,hello") is None
    assert media.guess_mime("https://x.test/a.png?sig=1") == "image/png"
    assert media.guess_mime("https://x.test/photo") == "image/jpeg"


def test_no_route_error_lists_the_last_failures() -> None:
    failures = [errors.RetryableError("a", "HTTP 500"), errors.FatalError("b", "HTTP 401", status=401)]
    err = errors.NoRouteError("every route failed", failures)
    assert str(err) == "every route failed: route a: HTTP 500; route b: HTTP 401"
    assert err.failures == tuple(failures)
