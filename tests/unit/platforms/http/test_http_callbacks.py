"""Caller-supplied callback URLs are honoured only under an allow-listed prefix (SSRF guard)."""

from urllib.parse import urlsplit

import httpx
import pytest
import yarl
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- normalisation before the comparison (SPEC §15 "Callback URLs") --------------------------------

CB = ("http://host/cb/",)


@pytest.mark.parametrize(
    "url",
    [
        "http://host/cb/../evil",
        "http://host/cb/./../evil",
        "http://host/cb/x/../../evil",
        "http://host/cb/..",
        "http://host/cb/%2e%2e/evil",
        "http://host/cb/%2E%2E/evil",
        "http://host/cb/.%2e/evil",
        "http://host/cb/%2e%2e%2fevil",
        "http://host/cb/..%2Fevil",
        "http://host/cb/..%5cevil",
        "http://host/cb\\..\\evil",
        "http://host\\cb\\..\\evil",
        "http://host/cb/..;/evil",
        "http://host/cb/%252e%252e/evil",
        "http://host/cb/%c0%ae%c0%ae/evil",
        "http://user@host/cb/x",
        "http://@host/cb/x",
        "http://host:x@host/cb/x",
        "http://evil.test\\@host/cb/x",
        "http://host/cb/x\n",
        "http://ho%73t/cb/x",
        "http://host:8080/cb/x",
        "https://host/cb/x",
        "http://host/cbx",
        "http://host/c%62/x",  # not decoded: `%62` is not a separator, so this path is not `/cb/x`
    ],
)
def test_escapes_are_refused(url: str) -> None:
    assert callbacks.allowed_url(url, CB) is None
    with pytest.raises(ValueError, match="allowedCallbackPrefixes"):
        callbacks.choose_callback(url, None, CB)


@pytest.mark.parametrize(
    ("url", "called"),
    [
        ("http://host/cb/x", "http://host/cb/x"),
        ("http://host:80/cb/x", "http://host/cb/x"),
        ("HTTP://HOST./cb/x", "http://host/cb/x"),
        ("http://host/cb", "http://host/cb"),
        ("http://host/cb/a/../b?q=1#frag", "http://host/cb/b?q=1"),
        ("http://host/cb/./%2e/x", "http://host/cb/x"),
        ("http://host/cb/a%2Fb", "http://host/cb/a/b"),
        ("http://host/cb\\x", "http://host/cb/x"),
    ],
)
def test_the_url_called_is_the_normalised_one(url: str, called: str) -> None:
    assert callbacks.choose_callback(url, None, CB) == called


def test_prefixes_are_normalised_too() -> None:
    assert callbacks.is_allowed("https://host/cb/x", ["HTTPS://Host.:443/cb"])
    assert callbacks.is_allowed("http://[::1]:8080/cb/x", ["http://[0:0::1]:8080/cb/"])
    assert callbacks.is_allowed("http://bücher.example/cb/x", ["http://xn--bcher-kva.example/cb/"])
    assert callbacks.is_allowed("http://host/anything", ["http://host"])
    assert not callbacks.is_allowed("http://host/cb/x", ["http://user@host/cb/", "not a url"])


SEGMENTS = st.sampled_from(
    (
        "",
        "cb",
        "x",
        "evil",
        ".",
        "..",
        "%2e",
        "%2E%2e",
        ".%2e",
        "%2f",
        "%2F",
        "%5c",
        "\\",
        ";",
        "..;",
        "%252e",
    )
)
SEPARATORS = st.sampled_from(["/", "\\", "%2f", "%2F"])
HOSTS = st.sampled_from(["host", "HOST", "host.", "host:80", "host:8080", "evil", "user@host", "host\\@evil"])


@st.composite
def tricky_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "HTTP", "https"]))
    parts = draw(st.lists(st.tuples(SEPARATORS, SEGMENTS), max_size=8))
    path = draw(st.sampled_from(["", "/cb"])) + "".join(sep + seg for sep, seg in parts)
    query = draw(st.sampled_from(["", "?a=../b", "#../x"]))
    return f"{scheme}://{draw(HOSTS)}{path}{query}"


@settings(max_examples=500, deadline=None)
@given(url=tricky_urls() | st.text(max_size=40).map(lambda s: "http://host/cb/" + s))
def test_an_accepted_url_stays_under_the_prefix_path(url: str) -> None:
    """Whatever is accepted is called as it was checked: httpx and yarl (under aiohttp) resolve the
    normalised URL to the same path, and that path is under the prefix's."""
    if not callbacks.is_allowed(url, CB):
        return
    called = callbacks.normalise(url)
    assert called is not None and called == callbacks.allowed_url(url, CB)
    assert callbacks.normalise(called) == called  # a fixed point: nothing left to resolve
    for path in (urlsplit(called).path, httpx.URL(called).raw_path.decode().partition("?")[0]):
        assert path == "/cb" or path.startswith("/cb/"), (url, called)
    assert yarl.URL(called).host == "host" and yarl.URL(called).port == 80
    assert yarl.URL(called).raw_path == "/cb" or yarl.URL(called).raw_path.startswith("/cb/")
