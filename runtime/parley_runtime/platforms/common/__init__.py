"""Helpers several adapters share (webhook answers and JSON bodies, the parts of a reply, capped media
downloads, Markdown rendering, the WeChat-family API and callback envelope, token caching, HTTP error
mapping, shared crypto layouts and the Ed25519-signed callback check)."""
