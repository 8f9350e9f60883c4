"""Queues between gateway and engines, and the outbound path with its dead letters and outbox.

Rule: at-least-once everywhere — a message leaves a queue only when acknowledged, a failed send
is dead-lettered rather than dropped. Clients (Redis, the SQLite file) and clocks are passed in;
this package imports `core`, `observability` and `core.send_errors`, nothing higher.
"""
