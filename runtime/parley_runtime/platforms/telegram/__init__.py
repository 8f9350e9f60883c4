"""Telegram Bot API: webhook (secret-token header) or long polling (`getUpdates`) in; `sendMessage`
(Markdown rendered as HTML) and media uploads out; `getFile` and the file path for inbound media.

Rule: `convert` and `text` are pure; `client`, `identity` and `polling` do I/O only through the
injected httpx client, clock and sleep function; the bot token is part of every API and file URL, so
URLs are never logged or put in an exception message.
"""
