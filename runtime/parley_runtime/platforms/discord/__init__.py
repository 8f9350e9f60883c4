"""Discord interactions endpoint: Ed25519-signed slash commands in, deferred answer, follow-ups (text and
files) out, command attachments fetched from Discord's CDN.

Rule: `convert` and `text` are pure; `client` does I/O only through the injected httpx client. The
interaction token is part of the follow-up URLs, so URLs are never logged or put in error messages.
"""
