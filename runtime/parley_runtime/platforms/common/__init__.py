"""Helpers several adapters share (token caching, HTTP error mapping, shared crypto layouts)."""
