"""Rate limiters (`core.protocols.RateLimiter`); de-duplication is part of each queue's `accept`.

Rule: imports only `core` (and `config`) plus the storage libraries (sqlite3, redis); never fastapi or
httpx. The in-process limiter serves `parley serve`; Redis ones are shared by every replica
in the cluster. A rate limit of 0 means unlimited. Nothing is opened at import.
"""
