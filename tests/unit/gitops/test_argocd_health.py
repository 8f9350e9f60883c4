"""The Argo CD health check, run by a real Lua 5.1 interpreter (lupa) as Argo CD's gopher-lua would."""

from pathlib import Path
from typing import Any

import yaml
from lupa import lua51

from parley_operator.observed import BotView, Observed
from parley_operator.policies import canary, status
from parley_operator.policies.analysis import Verdict
from parley_runtime.config.models import ChatBot

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


def test_promoted_canary_is_healthy_and_asks_for_the_git_update() -> None:
    status, message = health(
        bot(
            observedGeneration=2,
            conditions=[cond("Ready", "True", "Reconciled"), cond("Stalled", "False", "Progressing")],
            stableVersion="1.5.0",
            canary={"version": "1.5.0", "weight": 0, "phase": "Promoted"},
        )
    )
    assert status == "Healthy"
    assert message == "Canary 1.5.0 promoted; set spec.version to 1.5.0 in git"


def test_a_promoted_config_canary_asks_for_its_fields_not_a_version() -> None:
    canary = {
        "version": "1.4.0",
        "weight": 0,
        "phase": "Promoted",
        "overlay": {"persona": {"systemPrompt": "Be brief."}},
    }
    conditions = [cond("Ready", "True", "Reconciled"), cond("Stalled", "False", "Progressing")]
    status, message = health(
        bot(observedGeneration=2, conditions=conditions, stableVersion="1.4.0", canary=canary)
    )
    assert status == "Healthy"
    assert message == "Canary 1.4.0 promoted; copy spec.canary.persona to spec.persona in git"
    canary["overlay"] = {"version": "1.5.0", "models": {"routes": []}}
    canary["version"] = "1.5.0"
    _, message = health(
        bot(observedGeneration=2, conditions=conditions, stableVersion="1.5.0", canary=canary)
    )
    assert (
        message
        == "Canary 1.5.0 promoted; set spec.version to 1.5.0, copy spec.canary.models to spec.models in git"
    )


def test_statuses_the_operator_writes_map_to_the_right_health() -> None:
    """The gray release's statuses as the operator's policies produce them, not hand-written ones."""
    steps = [{"setWeight": 10}, {"pause": {"duration": "10m"}}, {"setWeight": 50}, {"pause": {}}]
    doc = {
        "apiVersion": "parley.dev/v1alpha1",
        "kind": "ChatBot",
        "metadata": {"name": "helpdesk"},
        "spec": {
            "version": "1.4.0",
            "models": {"routes": [{"name": "m", "provider": "echo", "model": "e"}]},
            "canary": {"version": "1.5.0", "steps": steps},
        },
    }
    model = ChatBot.model_validate(doc)

    def written(record: dict[str, Any] | None, now: str, **inputs: Any) -> dict[str, Any]:
        view = BotView("bots", "helpdesk", "u", 2, {"canary": record} if record else {}, model)
        gray = canary.decide(
            canary.Inputs("1.4.0", model.spec.canary, canary.Record.from_dict(record), now, **inputs)
        )
        observed = Observed(view)
        conds = status.bot_conditions(observed, canary=gray)
        return status.bot_status(observed, conds, now=now, canary=gray)

    walking = written(None, "2026-11-21T10:00:00Z")
    assert health({"metadata": {"generation": 2}, "status": walking})[0] == "Progressing"
    paused = {**walking["canary"], "step": 3, "weight": 50, "phase": "Paused"}
    assert health({"metadata": {"generation": 2}, "status": written(paused, "2026-11-21T11:00:00Z")})[0] == (
        "Suspended"
    )
    verdict = canary.Reading(Verdict("Fail", "error rate 0.3 > 0.05"))
    failed = written(walking["canary"], "2026-11-21T10:01:00Z", reading=verdict)
    state, message = health({"metadata": {"generation": 2}, "status": failed})
    assert state == "Degraded" and message.startswith("AnalysisFailed: analysis failed once: error rate 0.3")
