"""The runtime's configuration format: ChatBot and PlatformBinding manifests.

Rule: models are pure pydantic (no I/O); `loader` and `secrets` read files and
nothing else. The operator imports this package and no other part of the runtime.
"""
