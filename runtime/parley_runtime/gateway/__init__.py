"""gateway role: verifies callbacks, de-duplicates, picks the track, enqueues; holds long connections
under a Lease.

Rule: the gateway never calls an LLM or sends replies; it imports the layers below it (platforms,
queue, limits, core) and talks to the Kubernetes API only through `lease`.
"""
