"""The HTTP application of every role: routes, lifespan, background tasks and the server entry.

Rule: the only layer that knows FastAPI/uvicorn; it wires components built from the outer packages.
"""
