"""The Argo CD health check, run by a real Lua 5.1 interpreter (lupa) as Argo CD's gopher-lua would."""

from pathlib import Path
from typing import Any

import yaml
from lupa import lua51

SCRIPT = Path("manifests/argocd/chatbot-health.lua").read_text()


def health(obj: dict[str, Any]) -> tuple[str, str]:
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)

    def to_lua(value: Any) -> Any:
        if isinstance(value, dict):
            return runtime.table_from({k: to_lua(v) for k, v in value.items()})
        if isinstance(value, list):
            return runtime.table_from([to_lua(v) for v in value])
        return value

    runtime.globals().obj = to_lua(obj)
    result = runtime.execute(SCRIPT)
    return str(result["status"]), str(result["message"])


def bot(generation: int = 2, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "helpdesk", "generation": generation}, "status": status or None}


def cond(kind: str, value: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": kind, "status": value, "reason": reason, "message": message}


def test_no_status_yet_is_progressing() -> None:
    assert health({"metadata": {"name": "b", "generation": 1}})[0] == "Progressing"


def test_unobserved_generation_is_progressing() -> None:
    status, message = health(bot(3, observedGeneration=2, conditions=[cond("Ready", "True")]))
    assert status == "Progressing" and "generation 3" in message


def test_ready_is_healthy() -> None:
    assert health(bot(observedGeneration=2, conditions=[cond("Ready", "True", "Reconciled")])) == (
        "Healthy",
        "Reconciled",
    )


def test_stalled_is_degraded_with_reason() -> None:
    status, message = health(
        bot(
            observedGeneration=2,
            conditions=[
                cond("Ready", "False", "AnalysisFailed"),
                cond("Stalled", "True", "AnalysisFailed", "error rate 0.31 > 0.02"),
            ],
        )
    )
    assert status == "Degraded" and message == "AnalysisFailed: error rate 0.31 > 0.02"


def test_paused_canary_is_suspended() -> None:
    status, message = health(
        bot(
            observedGeneration=2,
            conditions=[cond("Ready", "True")],
            canary={"version": "1.5.0", "weight": 10, "phase": "Paused"},
        )
    )
    assert status == "Suspended" and "1.5.0 at 10%" in message


def test_reconciling_is_progressing() -> None:
    status, _ = health(
        bot(
            observedGeneration=2,
            conditions=[
                cond("Ready", "False", "Progressing"),
                cond("Reconciling", "True", "CanaryProgressing", "step 2"),
            ],
        )
    )
    assert status == "Progressing"


def test_not_ready_without_other_signal_is_progressing() -> None:
    assert health(bot(observedGeneration=2, conditions=[cond("Ready", "False", "SecretMissing")]))[0] == (
        "Progressing"
    )


def test_config_map_carries_the_same_script() -> None:
    cm = yaml.safe_load(Path("manifests/argocd/argocd-cm.yaml").read_text())
    assert cm["data"]["resource.customizations.health.parley.dev_ChatBot"] == SCRIPT
