"""QQ official bot API v2 over webhook: Ed25519-signed callbacks in, passive replies out.

Rule: `crypto`, `convert` and `text` are pure; `client` does I/O only through the injected httpx client
and caches the app access token with `platforms.common.tokens.TokenCache`.
"""
