"""The pure rules behind http-fetch: host allow-list, public addresses, HTML to text."""

import pytest

from parley_runtime.plugins.builtin.html_text import html_to_text
from parley_runtime.plugins.builtin.http_fetch import HttpFetchConfig, host_allowed, is_public


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("docs.example.com", True),
        ("example.com", True),
        ("api.internal.example.org", True),
        ("example.org", False),  # "*.example.org" means subdomains only
        ("evil-example.com", False),
        ("example.com.evil.net", False),
        ("notexample.org", False),
    ],
)
def test_host_allow_list(host: str, allowed: bool) -> None:
    assert host_allowed(host, ["example.com", "docs.example.com", "*.example.org"]) is allowed


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_config_normalises_hosts() -> None:
    config = HttpFetchConfig.model_validate({"allowHosts": [" Example.COM. ", "*.Docs.Example.com", "[::1]"]})
    assert config.allow_hosts == ["example.com", "*.docs.example.com", "::1"]
    assert config.max_bytes == 100_000 and config.allow_private is False


def test_html_to_text_keeps_visible_text_only() -> None:
    html = """<!doctype html><html><head><title>Opening  hours</title>
    <style>body { color: red }</style><script>var secret = 1;</script>
    <body><h1>Hours</h1><p>Mon&ndash;Fri <b>9</b>–17</p><ul><li>Sat 10–14<li>Sun closed</ul>
    <noscript>enable js</noscript></body></html>"""
    assert html_to_text(html) == "Opening hours\n\nHours\n\nMon–Fri 9–17\n\nSat 10–14\nSun closed"


def test_html_to_text_survives_broken_markup() -> None:
    assert html_to_text("<p>unclosed <b>bold <i>text") == "unclosed bold text"
    assert html_to_text("<head><title>T</title><body>visible") == "T\n\nvisible"
