"""Domain models, protocols and pure logic shared by every runtime layer.

Rule: no I/O and no framework imports here (neither fastapi nor httpx); only
pydantic models, typing Protocols and pure functions.
"""
