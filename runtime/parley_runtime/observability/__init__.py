"""Metrics and structured logging shared by every runtime component.

Rule: one `Metrics` object per process, built by the app and passed in; nothing is
registered at import time, so tests can build as many independent instances as they like.
"""
