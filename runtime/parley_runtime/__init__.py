"""Parley's bot runtime: platform adapters, message pipeline, LLM router, sessions, plugins.

Layers (checked by import-linter, top may import bottom only):

    cli → app → gateway | engine → platforms | llm | plugins | queue | sessions | limits → config → core

Nothing happens at import time: every component is built by a factory and injected.
"""
