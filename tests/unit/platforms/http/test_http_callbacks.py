"""Caller-supplied callback URLs are honoured only under an allow-listed prefix (SSRF guard)."""

import pytest

from parley_runtime.platforms.http import callbacks

PREFIXES = ("https://crm.example.com/parley/", "http://10.0.0.5:8080/hooks")


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/parley/replies/17",
        "https://crm.example.com/parley/",
        "http://10.0.0.5:8080/hooks",
        "http://10.0.0.5:8080/hooks/a?b=c",
    ],
)
def test_allowed(url: str) -> None:
    assert callbacks.is_allowed(url, PREFIXES)


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com.evil.test/parley/x",
        "https://crm.example.com/other",
        "https://crm.example.com/parley-evil/x",
        "http://crm.example.com/parley/x",
        "http://10.0.0.5:8081/hooks",
        "http://10.0.0.5:8080/hooksevil",
        "https://user:pw@crm.example.com/parley/x",
        "ftp://crm.example.com/parley/x",
        "http://[::1",
        "not a url",
    ],
)
def test_refused(url: str) -> None:
    assert not callbacks.is_allowed(url, PREFIXES)


def test_choose_prefers_allowed_request_then_configured() -> None:
    assert callbacks.choose_callback(None, "https://cfg/", PREFIXES) == "https://cfg/"
    assert callbacks.choose_callback(None, None, PREFIXES) is None
    url = "https://crm.example.com/parley/1"
    assert callbacks.choose_callback(url, "https://cfg/", PREFIXES) == url
    with pytest.raises(ValueError, match="allowedCallbackPrefixes"):
        callbacks.choose_callback("https://evil.test/", "https://cfg/", PREFIXES)
    with pytest.raises(ValueError, match="allowedCallbackPrefixes"):
        callbacks.choose_callback(url, "https://cfg/", ())
