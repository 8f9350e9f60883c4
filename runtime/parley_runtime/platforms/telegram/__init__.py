"""Telegram Bot API: webhook (secret-token header) or long polling (`getUpdates`), replies via sendMessage.

Rule: `convert` and `text` are pure; `client` and `polling` do I/O only through the injected httpx
client and sleep function; the bot token is part of every API URL, so URLs are never logged or put in
an exception message.
"""
