"""Multi-turn history stores behind `core.protocols.SessionStore`: SQLite embedded, Redis in the cluster.

Rule: imports only `core` (and `config`) plus the storage libraries (sqlite3, redis); never fastapi or
httpx. Stores never see secrets, only chat history; every `append` trims with `core.budget.trim_history`
and refreshes the TTL. Nothing is opened at import: callers build stores with their client or path.
"""
