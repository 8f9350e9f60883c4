"""Storage plumbing the stores share (sessions, limits, queue): opening the embedded SQLite file, running
blocking calls off the event loop, transactions.

Rule: standard library only (sqlite3, asyncio, threading); no table, query or error type of any store
lives here — each store passes its schema and its own error for a failure. Below the services layer,
above `observability`; nothing is opened at import.
"""
