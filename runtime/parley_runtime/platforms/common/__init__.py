"""Helpers several adapters share (webhook answers and JSON bodies, the WeChat-family callback envelope,
token caching, HTTP error mapping, shared crypto layouts)."""
