"""Status schemas: typed where tools read them (printer columns, kstatus), open where the operator grows."""

from typing import Any

_STR = {"type": "string"}
_INT = {"type": "integer", "format": "int64"}


def conditions() -> dict[str, Any]:
    """kstatus-compatible conditions (`Ready`, `Reconciling`, `Stalled`), one per type."""
    return {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": {
            "type": "object",
            "required": ["type", "status"],
            "properties": {
                "type": {"type": "string", "maxLength": 316},
                "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                "reason": {"type": "string", "maxLength": 1024},
                "message": {"type": "string", "maxLength": 32768},
                "lastTransitionTime": {"type": "string", "format": "date-time"},
                "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
            },
        },
    }


def _status(**fields: Any) -> dict[str, Any]:
    """A kind's status: `observedGeneration` and `conditions`, then its own fields, open to more."""
    return {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"observedGeneration": _INT, "conditions": conditions(), **fields},
    }


def chatbot_status() -> dict[str, Any]:
    return _status(
        stableVersion=_STR,
        canary={
            "type": "object",
            "nullable": True,
            "properties": {
                "version": _STR,
                "baseVersion": _STR,
                "weight": {"type": "integer", "minimum": 0, "maximum": 100},
                "step": {"type": "integer", "minimum": 0},
                "phase": _STR,
                "startedAt": {"type": "string", "format": "date-time"},
                "stepStartedAt": {"type": "string", "format": "date-time"},
                "message": _STR,
                # The analysis so far (verdict, figures, failures, counter baselines): open, because
                # the operator resumes from it and its figures may grow.
                "analysis": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "overlayHash": _STR,
                "baseConfigHash": _STR,
                # The promoted fields (version, persona, models, plugins) as the spec writes them.
                "overlay": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                # Where decisions are announced (`spec.canary.notify` as last seen).
                "notify": {
                    "type": "object",
                    "properties": {
                        "bindingRef": {"type": "object", "properties": {"name": _STR}},
                        "chatId": _STR,
                    },
                },
            },
        },
        replicas={"type": "integer", "format": "int32"},
        readyReplicas={"type": "integer", "format": "int32"},
        history=history(),
    )


def history() -> dict[str, Any]:
    """The last revisions of the stable track, oldest first (`policies.revisions`)."""
    return {
        "type": "array",
        "maxItems": 10,
        "items": {
            "type": "object",
            "required": ["revision", "version", "configHash"],
            "properties": {
                "revision": {"type": "integer", "minimum": 1},
                "version": _STR,
                "configHash": _STR,
                "promotedAt": {"type": "string", "format": "date-time"},
                "cause": _STR,
                # persona, models and plugins as the spec writes them (keys are secretKeyRefs).
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    }


def binding_status() -> dict[str, Any]:
    return _status(webhookPath=_STR)
