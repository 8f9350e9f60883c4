"""Parley's Kubernetes operator (kopf): ChatBot and PlatformBinding → Deployments, Services, HPAs….

Layers (checked by import-linter): handlers → k8s (the only module that talks to the API)
→ render | policies (pure) → models. `decide` (pure) composes render and policies into one reconcile
round's plan, for the handlers. From the runtime, only `parley_runtime.config` (and the
pure `parley_runtime.core`) may be imported.
"""
