"""The only code of the operator that talks to the Kubernetes API.

Rule: every request goes through `client.KubeClient` (one shared `httpx.AsyncClient`); `gather`
reads into `observed` values, `apply` is the one place that writes (create, JSON merge patch,
delete, status). No decisions here — those are in `policies` — and no kopf.
"""
