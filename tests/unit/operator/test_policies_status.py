"""Status decisions: the condition chain, binding readiness, status fields and no-op patches."""

from typing import Any

from parley_operator.conditions import READY, RECONCILING, STALLED
from parley_operator.observed import BindingView, BotView, Observed, Ref
from parley_operator.policies import canary, parse, references, status
from unit.operator.operator_factories import CANARY, binding_doc, chatbot_doc, make_binding, make_chatbot

NOW = "2026-11-21T10:00:00Z"
ALL_KEYS = {
    "llm": frozenset({"deepseek"}),
    "redis": frozenset({"url"}),
    "feishu-app": frozenset({"appId", "appSecret", "verificationToken"}),
}


def bot_view(status_: dict[str, Any] | None = None, **spec: Any) -> BotView:
    return BotView("bots", "helpdesk", "uid-1", 4, status_ or {}, make_chatbot("helpdesk", **spec))


def feishu(status_: dict[str, Any] | None = None) -> BindingView:
    return BindingView("helpdesk-feishu", 2, status_ or {}, make_binding())


def decision(view: BotView, now: str = NOW) -> canary.Decision:
    """What the canary state machine says for this view (no annotations, no analysis reading)."""
    assert view.bot is not None
    spec = view.bot.spec
    record = canary.Record.from_dict(view.status.get("canary"))
    return canary.decide(canary.Inputs(spec.version, spec.canary, record, now))


def by_type(conds: list[Any]) -> dict[str, Any]:
    return {c.type: c for c in conds}


def test_all_resolved_is_ready() -> None:
    conds = by_type(status.bot_conditions(Observed(bot_view(), (feishu(),), ALL_KEYS)))
    assert (conds[READY].status, conds[READY].reason) == ("True", "Reconciled")
    assert conds[STALLED].status == "False" and conds[RECONCILING].status == "False"


def test_invalid_spec_stalls() -> None:
    body = chatbot_doc()
    del body["spec"]["models"]
    model, problem = parse.parse_bot(body)
    assert model is None and problem is not None
    assert "spec.models" in problem and "\n" not in problem
    view = BotView("bots", "helpdesk", "uid-1", 4, {}, None, problem)
    conds = by_type(status.bot_conditions(Observed(view)))
    assert (conds[STALLED].status, conds[STALLED].reason) == ("True", "InvalidSpec")
    assert conds[READY].status == "False" and problem in conds[STALLED].message


def test_missing_route_secret_key_names_the_field_and_key() -> None:
    keys = {**ALL_KEYS, "llm": frozenset({"other"})}
    conds = by_type(status.bot_conditions(Observed(bot_view(), (feishu(),), keys)))
    assert conds[READY].reason == "SecretMissing"
    assert "spec.models.routes[0].apiKey: Secret llm has no key deepseek" in conds[READY].message
    missing = {k: v for k, v in ALL_KEYS.items() if k != "redis"}
    conds = by_type(status.bot_conditions(Observed(bot_view(), (), missing)))
    assert "spec.redis.url: Secret redis not found" in conds[READY].message


def test_broken_binding_makes_the_bot_not_ready() -> None:
    keys = {**ALL_KEYS, "feishu-app": frozenset({"appId"})}
    conds = by_type(status.bot_conditions(Observed(bot_view(), (feishu(),), keys)))
    assert (conds[READY].status, conds[READY].reason) == ("False", "BindingInvalid")
    assert "helpdesk-feishu" in conds[READY].message
    ok, reason, message = status.binding_ready(feishu(), keys)
    assert (ok, reason) == (False, "SecretMissing")
    assert message == "Secret feishu-app lacks required keys: appSecret, verificationToken"


def test_binding_secret_absent_and_invalid_binding() -> None:
    keys = {k: v for k, v in ALL_KEYS.items() if k != "feishu-app"}
    assert status.binding_ready(feishu(), keys) == (False, "SecretMissing", "Secret feishu-app not found")
    model, problem = parse.parse_binding(binding_doc(platform="nope"))
    assert model is None and problem is not None and "spec.platform" in problem
    view = BindingView("x", 1, {}, None, problem)
    assert status.binding_ready(view, keys)[:2] == (False, "InvalidSpec")
    assert status.webhook_path(view) is None


def test_optional_keys_are_not_required() -> None:
    check = references.check_binding(make_binding(), ALL_KEYS)  # no encryptKey: fine
    assert check.ok


def test_api_errors_mean_reconciling() -> None:
    conds = by_type(status.bot_conditions(Observed(bot_view(), (), ALL_KEYS), apply_error="500 boom"))
    assert conds[RECONCILING].status == "True" and conds[READY].reason == "ApplyFailed"


def test_bot_status_fields() -> None:
    deployment = {"kind": "Deployment", "status": {"replicas": 2, "readyReplicas": 1}}
    live: dict[Ref, Any] = {
        Ref("apps/v1", "Deployment", "bots", "helpdesk"): deployment,
        Ref("apps/v1", "Deployment", "bots", "helpdesk-gateway"): {**deployment, "status": {"replicas": 3}},
        Ref("v1", "ConfigMap", "bots", "helpdesk-config"): None,
    }
    observed = Observed(bot_view(canary=CANARY), (), ALL_KEYS, live)
    gray = decision(observed.bot)
    out = status.bot_status(observed, status.bot_conditions(observed, canary=gray), now=NOW, canary=gray)
    assert out["observedGeneration"] == 4
    assert out["stableVersion"] == "1.4.0"
    # CANARY starts with setWeight 10, then a 10m pause: the first step is taken at once.
    assert {k: out["canary"][k] for k in ("version", "weight", "step", "phase")} == {
        "version": "1.5.0",
        "weight": 10,
        "step": 1,
        "phase": "Progressing",
    }
    assert (out["replicas"], out["readyReplicas"]) == (5, 1)
    assert [c["type"] for c in out["conditions"]] == [READY, RECONCILING, STALLED]


def test_no_deployment_status_means_no_replica_fields() -> None:
    observed = Observed(
        bot_view(), (), ALL_KEYS, {Ref("apps/v1", "Deployment", "bots", "helpdesk"): {"kind": "Deployment"}}
    )
    out = status.bot_status(observed, status.bot_conditions(observed), now=NOW)
    assert "replicas" not in out and "canary" not in out


def test_invalid_spec_keeps_the_last_good_version() -> None:
    view = BotView("bots", "helpdesk", "uid-1", 5, {"stableVersion": "1.4.0", "replicas": 2}, None, "bad")
    observed = Observed(view)
    out = status.bot_status(observed, status.bot_conditions(observed), now=NOW)
    assert out["stableVersion"] == "1.4.0" and out["replicas"] == 2


def test_status_patch_skips_no_ops_and_removes_dropped_keys() -> None:
    observed = Observed(bot_view(canary=CANARY), (), ALL_KEYS)
    gray = decision(observed.bot)
    first = status.bot_status(observed, status.bot_conditions(observed, canary=gray), now=NOW, canary=gray)
    assert status.status_patch({}, first, status.BOT_KEYS) == {"status": first}
    # The same status again, a minute later (still inside the 10m pause): nothing to write.
    again = Observed(bot_view(first, canary=CANARY), (), ALL_KEYS)
    later = "2026-11-21T10:01:00Z"
    gray = decision(again.bot, later)
    second = status.bot_status(again, status.bot_conditions(again, canary=gray), now=later, canary=gray)
    assert status.status_patch(first, second, status.BOT_KEYS) is None
    # The canary is gone from the spec: its status key is removed with a null.
    gone = Observed(bot_view(first), (), ALL_KEYS)
    gray = decision(gone.bot)
    third = status.bot_status(gone, status.bot_conditions(gone, canary=gray), now=NOW, canary=gray)
    patch = status.status_patch(first, third, status.BOT_KEYS)
    assert patch is not None and patch["status"]["canary"] is None
    # ... and Reconciling (the canary walking its steps) turns False.
    assert [c["status"] for c in patch["status"]["conditions"] if c["type"] == RECONCILING] == ["False"]


def test_binding_status_has_the_webhook_path() -> None:
    view = feishu()
    out = status.binding_status(view, True, "Bound", "serving", now=NOW)
    assert out["webhookPath"] == "/webhook/feishu/helpdesk-feishu"
    assert out["conditions"][0]["status"] == "True" and out["observedGeneration"] == 2
    assert status.status_patch(out, out, status.BINDING_KEYS) is None


def test_parse_errors_do_not_echo_input_values() -> None:
    body = chatbot_doc()
    body["spec"]["models"]["routes"][0]["temperature"] = "sk-very-secret-looking-value"
    model, problem = parse.parse_bot(body)
    assert model is None and problem is not None
    assert "sk-very-secret-looking-value" not in problem
