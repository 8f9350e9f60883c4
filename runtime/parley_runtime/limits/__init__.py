"""Rate limiters (`core.protocols.RateLimiter`) and de-duplication stores (`core.protocols.DedupStore`).

Rule: imports only `core` (and `config`) plus the storage libraries (sqlite3, redis); never fastapi or
httpx. In-process / SQLite implementations serve `parley serve`; Redis ones are shared by every replica
in the cluster. A rate limit of 0 means unlimited. Nothing is opened at import.
"""
