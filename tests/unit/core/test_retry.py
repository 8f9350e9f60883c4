"""core.retry: retryable statuses and the one Retry-After parser, by example and by property."""

import email.utils
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley_runtime.core import retry

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def http_date(unix: float) -> str:
    return email.utils.formatdate(unix, usegmt=True)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
def test_rate_limits_and_server_errors_are_retryable(status: int) -> None:
    assert retry.is_retryable_status(status)


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 409, 413, 422, 428, 499])
def test_other_statuses_are_not(status: int) -> None:
    assert not retry.is_retryable_status(status)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("0", 0.0), ("2", 2.0), ("120", 120.0), ("1.5", 1.5), ("+3", 3.0), ("-5", 0.0), ("007", 7.0)],
)
def test_delta_seconds(value: str, seconds: float) -> None:
    assert retry.retry_after_seconds(value, now=NOW) == seconds


def test_http_date_in_the_future_is_the_time_left() -> None:
    assert retry.retry_after_seconds(http_date(NOW + 30), now=NOW) == 30.0


def test_http_date_in_the_past_is_zero() -> None:
    assert retry.retry_after_seconds(http_date(NOW - 3600), now=NOW) == 0.0


@pytest.mark.parametrize(
    "value",
    [
        "Tuesday, 14-Nov-23 22:13:50 GMT",  # RFC 850, obsolete but still allowed
        "Tue Nov 14 22:13:50 2023",  # asctime, no zone: GMT
        "Tue, 14 Nov 2023 22:13:50 -0000",  # zone unknown: GMT as well
        "Tue, 14 Nov 2023 23:13:50 +0100",
    ],
)
def test_other_date_forms_count_as_gmt(value: str) -> None:
    assert retry.retry_after_seconds(value, now=NOW) == 30.0


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "soon",
        "1e3",
        "0x10",
        "1,5",
        "inf",
        "nan",
        "9" * 400,  # beyond a float
        "Tue, 32 Nov 2023 22:13:50 GMT",
        "Tue, 14 Nov 99999 22:13:50 GMT",
    ],
)
def test_absent_or_unreadable_is_none(value: str | None) -> None:
    assert retry.retry_after_seconds(value, now=NOW) is None


@pytest.mark.parametrize("value", [" 120", "120 ", "\t120\r\n", f"  {http_date(NOW + 120)} "])
def test_surrounding_whitespace_is_ignored(value: str) -> None:
    assert retry.retry_after_seconds(value, now=NOW) == 120.0


def test_the_header_is_looked_up_by_its_lower_case_name() -> None:
    assert retry.retry_after_header({"retry-after": "4"}, now=NOW) == 4.0
    assert retry.retry_after_header({"content-type": "text/plain"}, now=NOW) is None


@given(st.integers(min_value=0, max_value=2**53))
def test_any_non_negative_integer_parses_to_itself(n: int) -> None:
    assert retry.retry_after_seconds(str(n), now=NOW) == n


@given(st.text())
def test_any_text_is_a_non_negative_finite_wait_or_none(value: str) -> None:
    seconds = retry.retry_after_seconds(value, now=NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0.0)
