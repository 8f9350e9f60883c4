"""Parley's Kubernetes operator (kopf): ChatBot and PlatformBinding → Deployments, Services, HPAs….

Layers (checked by import-linter): handlers → k8s (the only module that talks to the API)
→ render | policies (pure) → models. From the runtime, only `parley_runtime.config` (and the
pure `parley_runtime.core`) may be imported.
"""
