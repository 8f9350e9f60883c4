"""Slack Events API over HTTP: v0 request signatures in, `chat.postMessage` and file uploads out, files
of inbound messages fetched with the bot token.

Rule: `crypto`, `convert` and `text` are pure; `client` does I/O only through the injected httpx client,
and the bot token goes only to Slack's own hosts.
"""
