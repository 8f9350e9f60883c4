"""Engine role: the message pipeline (rate limit → plugins → session → LLM → reply) and the
worker that feeds it from the queue and sends replies through the platform adapters.

Rule: written against `core.protocols`; concrete stores, providers and adapters are injected.
"""
