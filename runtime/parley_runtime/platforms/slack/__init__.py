"""Slack Events API over HTTP: v0 request signatures in, `chat.postMessage` out.

Rule: `crypto`, `convert` and `text` are pure; `client` does I/O only through the injected httpx client.
"""
