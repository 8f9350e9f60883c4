"""PluginInstallFailed: decided from the engine pods' init container state, as the API reports it."""

from typing import Any

from parley_operator.conditions import READY, RECONCILING, STALLED
from parley_operator.observed import BotView, Observed
from parley_operator.policies import status
from unit.operator.operator_factories import make_chatbot

KEYS = {"llm": frozenset({"deepseek"}), "redis": frozenset({"url"})}
PIP_LOG = (
    "Looking in indexes: https://user:tok3n@pkgs.example.com/simple/\n"
    "ERROR: Could not find a version that satisfies the requirement parley-weather==9.9 "
    "(from versions: 1.2.0)\n"
    "ERROR: No matching distribution found for parley-weather==9.9 at https://pkgs.example.com/t0ken/simple\n"
)


def pod(name: str, *init: dict[str, Any], deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/component": "engine"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-21T10:00:00Z"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "status": {"initContainerStatuses": list(init)},
    }


def init_status(
    state: dict[str, Any], last: dict[str, Any] | None = None, name: str = "plugin-packages"
) -> Any:
    return {"name": name, "state": state, "lastState": last or {}, "ready": False, "restartCount": 1}


FAILED = {"terminated": {"exitCode": 1, "reason": "Error", "message": PIP_LOG}}
SUCCEEDED = {"terminated": {"exitCode": 0, "reason": "Completed"}}
BACKING_OFF = {
    "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container"}
}
RUNNING = {"running": {"startedAt": "2026-11-21T10:00:00Z"}}


def conditions(*pods: dict[str, Any]) -> dict[str, Any]:
    bot = make_chatbot(plugins=[{"name": "weather", "package": "parley-weather==9.9"}])
    view = BotView("bots", "helpdesk", "uid-1", 3, {}, bot)
    return {c.type: c for c in status.bot_conditions(Observed(view, (), KEYS, engine_pods=tuple(pods)))}


def test_a_failed_install_stalls_the_bot_with_pips_reason() -> None:
    conds = conditions(pod("helpdesk-7c9-abcde", init_status(FAILED)))
    ready = conds[READY]
    assert (ready.status, ready.reason) == ("False", "PluginInstallFailed")
    assert ready.message == (
        "engine pod helpdesk-7c9-abcde: pip exited with 1: "
        "No matching distribution found for parley-weather==9.9 at <url>"
    )
    assert conds[STALLED].status == "True" and conds[RECONCILING].status == "False"


def test_an_install_backing_off_after_a_failure_is_reported_from_its_last_exit() -> None:
    conds = conditions(pod("helpdesk-1", init_status(BACKING_OFF, FAILED)))
    assert conds[READY].reason == "PluginInstallFailed"
    assert "No matching distribution found for parley-weather==9.9" in conds[READY].message


def test_a_retry_still_running_after_a_failure_is_still_a_failure() -> None:
    assert conditions(pod("helpdesk-1", init_status(RUNNING, FAILED)))[READY].reason == "PluginInstallFailed"


def test_succeeded_running_or_not_started_installs_are_not_failures() -> None:
    for pods in (
        [pod("helpdesk-1", init_status(SUCCEEDED, FAILED))],  # failed once, then succeeded
        [pod("helpdesk-1", init_status(RUNNING))],
        [pod("helpdesk-1", init_status({"waiting": {"reason": "PodInitializing"}}))],
        [pod("helpdesk-1")],  # no status reported yet
        [],
    ):
        assert conditions(*pods)[READY].reason == "Reconciled", pods


def test_pods_being_deleted_and_other_init_containers_do_not_count() -> None:
    assert conditions(pod("old-1", init_status(FAILED), deleting=True))[READY].reason == "Reconciled"
    assert conditions(pod("helpdesk-1", init_status(FAILED, name="istio-init")))[READY].reason == "Reconciled"


def test_the_message_never_carries_an_index_url_or_a_token() -> None:
    message = conditions(pod("helpdesk-1", init_status(FAILED)))[READY].message
    assert "tok3n" not in message and "t0ken" not in message and "https://" not in message


def test_without_pips_own_words_the_reason_is_the_last_line_kept_short() -> None:
    noisy = {"terminated": {"exitCode": 2, "reason": "Error", "message": "x" * 1000}}
    message = conditions(pod("helpdesk-1", init_status(noisy)))[READY].message
    assert message.startswith("engine pod helpdesk-1: pip exited with 2: xxx") and len(message) < 360
    bare = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    assert conditions(pod("helpdesk-1", init_status(bare)))[READY].message.endswith(
        "pip exited with 137: OOMKilled"
    )


def test_the_first_failing_pod_by_name_is_named() -> None:
    conds = conditions(pod("helpdesk-b", init_status(FAILED)), pod("helpdesk-a", init_status(FAILED)))
    assert conds[READY].message.startswith("engine pod helpdesk-a:")


def test_missing_secrets_come_first() -> None:
    bot = make_chatbot(plugins=[{"name": "weather", "package": "parley-weather==9.9"}])
    view = BotView("bots", "helpdesk", "uid-1", 3, {}, bot)
    observed = Observed(view, (), {"redis": frozenset({"url"})}, engine_pods=(pod("p", init_status(FAILED)),))
    assert {c.type: c for c in status.bot_conditions(observed)}[READY].reason == "SecretMissing"
