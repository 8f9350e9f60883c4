"""Real local stand-ins for external services (Redis, platforms, LLMs) used by integration tests.

Rule: every fake is a real server on 127.0.0.1 (or a real process), never a mock of our own code.
"""
