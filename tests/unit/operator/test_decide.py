"""One round's decisions, pure: what the bot should be (`desire`) and what to write (`decide`)."""

import copy
from typing import Any

import pytest

from parley_operator import decide
from parley_operator.observed import Observed, Ref
from parley_operator.policies import children, parse, status
from unit.operator.operator_factories import CANARY, binding_doc, chatbot_doc

NS = "bots"
NOW = "2026-11-21T10:00:00Z"
ALL_KEYS = {
    "llm": frozenset({"deepseek"}),
    "redis": frozenset({"url"}),
    "feishu-app": frozenset({"appId", "appSecret", "verificationToken"}),
}
TOKEN = Ref("v1", "Secret", NS, "helpdesk-internal")
ENGINE = Ref("apps/v1", "Deployment", NS, "helpdesk")


def bot_body(status_: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body = chatbot_doc("helpdesk", namespace=NS, **spec)
    body["metadata"].update({"uid": "uid-1", "generation": 2})
    if status_ is not None:
        body["status"] = status_
    return body


def round_(
    body: dict[str, Any],
    *,
    keys: dict[str, frozenset[str] | None] | None = None,
    live: dict[Ref, dict[str, Any] | None] | None = None,
    stale: tuple[Ref, ...] = (),
) -> tuple[decide.Desired, decide.Plan]:
    """desire → (live objects as given; all absent by default) → decide, as the reconcile runs them."""
    view = parse.bot_view(body, NS)
    bindings = (parse.binding_view(binding_doc()),)
    keys = ALL_KEYS if keys is None else keys
    desired = decide.desire(view, bindings, keys, None, NOW)
    children = dict.fromkeys(desired.refs) if live is None else live
    plan = decide.decide(Observed(view, bindings, keys, children, stale), desired, NOW)
    return desired, plan


def as_served(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API hands it back: our fields plus metadata and a default the server fills."""
    out = copy.deepcopy(obj)
    out["metadata"]["resourceVersion"] = "7"
    if out["kind"] == "Deployment":
        for container in out["spec"]["template"]["spec"]["containers"]:
            container["imagePullPolicy"] = "IfNotPresent"
    return out


def test_a_fresh_bot_creates_everything_it_renders_and_reads_ready() -> None:
    desired, plan = round_(bot_body())
    assert [c.ref for c in plan.objects.creates] == list(desired.refs)
    assert not plan.objects.patches and not plan.objects.deletes
    assert [c.ref for c in plan.objects.creates if c.generate_token] == [TOKEN]
    assert (plan.status.ready, plan.status.reason) == (True, "Reconciled")
    assert plan.status.patch is not None and plan.status.patch["status"]["stableVersion"] == "1.4.0"
    [binding] = plan.bindings
    assert (binding.ready, binding.reason, binding.announce) == (True, "Bound", True)
    assert binding.ref == Ref("parley.dev/v1alpha1", "PlatformBinding", NS, "helpdesk-feishu")
    assert plan.remove_annotations == ()


def test_observed_drift_patches_only_what_drifted() -> None:
    desired, _ = round_(bot_body())
    live = {Ref.of(o): as_served(children.recorded(o)) for o in desired.objects}
    engine = live[ENGINE]
    assert engine is not None
    engine["spec"]["template"]["spec"]["containers"][0]["image"] = "someone/else:1"
    engine["spec"]["replicas"] = 5  # not a field we render: no drift

    _, plan = round_(bot_body(), live=live)
    assert not plan.objects.creates and not plan.objects.deletes
    [patch] = plan.objects.patches
    assert patch.ref == ENGINE
    assert set(patch.patch) == {"spec"}
    assert "replicas" not in patch.patch["spec"]


def test_no_drift_writes_nothing() -> None:
    desired, first = round_(bot_body())
    assert first.status.patch is not None
    written = {"status": dict(first.status.patch["status"])}
    live = {Ref.of(o): as_served(children.recorded(o)) for o in desired.objects}

    _, plan = round_(bot_body(written["status"]), live=live)
    assert plan.objects.empty
    assert plan.status.patch is None


def test_removing_the_canary_deletes_its_objects_and_drops_the_record() -> None:
    with_canary, started = round_(bot_body(canary=CANARY))
    assert started.status.patch is not None
    record_status = dict(started.status.patch["status"])
    canary_refs = tuple(sorted(set(with_canary.refs) - set(round_(bot_body())[0].refs)))
    assert {r.name for r in canary_refs} == {
        "helpdesk-canary",
        "helpdesk-engine-canary",
        "helpdesk-canary-config",
    }

    _, plan = round_(bot_body(record_status), stale=canary_refs)
    assert [d.ref for d in plan.objects.deletes] == list(canary_refs)
    assert plan.status.patch is not None and plan.status.patch["status"]["canary"] is None
    assert plan.canary is not None
    assert [e.reason for e in plan.canary.events] == ["CanaryRemoved"]


def test_a_binding_whose_secret_lacks_keys_is_not_ready_and_not_rendered() -> None:
    keys = {**ALL_KEYS, "feishu-app": frozenset({"appId"})}
    desired, plan = round_(bot_body(), keys=keys)
    [binding] = plan.bindings
    assert (binding.ready, binding.reason) == (False, "SecretMissing")
    assert "appSecret" in binding.message and binding.patch is not None
    assert (plan.status.ready, plan.status.reason) == (False, "BindingInvalid")
    config = next(o for o in desired.objects if o["metadata"]["name"] == "helpdesk-config")
    assert "helpdesk-feishu" not in str(config["data"])


def test_each_binding_is_judged_once_per_round(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    judge = status.binding_ready

    def counted(view: Any, keys: Any) -> status.Readiness:
        calls.append(view.name)
        return judge(view, keys)

    monkeypatch.setattr(status, "binding_ready", counted)
    round_(bot_body(), keys={**ALL_KEYS, "feishu-app": None})
    assert calls == ["helpdesk-feishu"]


def test_a_spec_that_does_not_render_stalls_and_applies_nothing() -> None:
    desired, plan = round_(bot_body(image="repo:with-a-tag"))
    assert not desired.renders and desired.problem is not None
    assert plan.objects.empty and plan.bindings == () and plan.remove_annotations == ()
    assert (plan.status.ready, plan.status.reason) == (False, "InvalidSpec")
    assert "spec.image" in plan.status.message
    assert plan.canary is not None  # the gray release's step still counts for the gauge


def test_a_spec_that_does_not_parse_decides_from_nothing_else() -> None:
    body = bot_body()
    del body["spec"]["models"]
    view = parse.bot_view(body, NS)
    desired = decide.desire(view, (parse.binding_view(binding_doc()),), {}, None, NOW)
    assert desired == decide.Desired()
    plan = decide.decide(Observed(view), desired, NOW)
    assert (plan.status.reason, plan.canary, plan.bindings) == ("InvalidSpec", None, ())


def test_a_refused_write_turns_ready_into_apply_failed() -> None:
    _, plan = round_(bot_body())
    refused = plan.refused("500 InternalError: boom")
    assert (refused.ready, refused.reason, refused.message) == (
        False,
        "ApplyFailed",
        "500 InternalError: boom",
    )
    assert refused.patch is not None and plan.status.patch is not None
    assert refused.patch["status"]["stableVersion"] == plan.status.patch["status"]["stableVersion"]


def test_an_analysis_is_read_only_when_a_window_is_due() -> None:
    _, started = round_(bot_body(canary=CANARY))
    assert started.status.patch is not None
    view = parse.bot_view(bot_body(dict(started.status.patch["status"]), canary=CANARY), NS)
    assert decide.due_analysis(view, NOW) is None
    assert decide.due_analysis(view, "2026-11-21T10:05:00Z") is not None
    assert decide.due_analysis(parse.bot_view(bot_body(), NS), "2026-11-21T10:05:00Z") is None


def _config_of(desired: decide.Desired, name: str) -> str:
    return str(next(o for o in desired.objects if o["metadata"]["name"] == name)["data"]["bot.yaml"])


def test_a_prompt_canary_renders_its_own_config_and_records_a_revision_once_promoted() -> None:
    canary = {"persona": {"systemPrompt": "v2"}, "steps": [{"setWeight": 10}, {"pause": {}}]}
    desired, plan = round_(bot_body(persona={"systemPrompt": "v1"}, canary=canary))
    assert "v2" in _config_of(desired, "helpdesk-canary-config") and "v1" in _config_of(
        desired, "helpdesk-config"
    )
    assert plan.status.patch is not None
    written = dict(plan.status.patch["status"])
    assert [(r["revision"], r["cause"]) for r in written["history"]] == [(1, "spec")]

    body = bot_body(written, persona={"systemPrompt": "v1"}, canary=canary)
    body["metadata"]["annotations"] = {"parley.dev/promote": "true"}
    desired, plan = round_(body)
    assert "v2" in _config_of(desired, "helpdesk-config")  # the promoted prompt runs on the stable track
    assert "helpdesk-canary-config" not in {o["metadata"]["name"] for o in desired.objects}
    assert plan.status.patch is not None
    status_ = plan.status.patch["status"]
    assert status_["canary"]["phase"] == "Promoted" and "stableVersion" not in status_  # still 1.4.0
    [first, second] = status_["history"]
    assert first == written["history"][0]
    assert second["cause"].endswith("promoted (parley.dev/promote=true)")
    assert second["config"]["persona"] == {"systemPrompt": "v2"}

    # git catches up: the same objects, the record cleared, no new revision.
    caught_up, after = round_(bot_body(dict(status_), persona={"systemPrompt": "v2"}))
    assert caught_up.objects == desired.objects
    assert after.status.patch is not None and after.status.patch["status"]["canary"] is None
    assert "history" not in after.status.patch["status"]


def test_an_invalid_spec_keeps_the_history() -> None:
    _, plan = round_(bot_body())
    assert plan.status.patch is not None
    written = dict(plan.status.patch["status"])
    _, broken = round_(bot_body(written, image="repo:with-a-tag"))
    assert broken.status.patch is not None and "history" not in broken.status.patch["status"]


def test_the_secrets_of_a_canary_route_and_of_a_promoted_config_are_read() -> None:
    key = {"secretKeyRef": {"name": "llm-next", "key": "token"}}
    route = {"name": "main", "provider": "deepseek", "model": "deepseek-chat", "apiKey": key}
    canary = {"models": {"routes": [route]}, "steps": [{"setWeight": 10}]}
    view = parse.bot_view(bot_body(canary=canary), NS)
    assert "llm-next" in decide.secret_names(view, ())
    desired, plan = round_(bot_body(canary=canary), keys=ALL_KEYS)
    assert (plan.status.reason, plan.status.ready) == ("SecretMissing", False)
    assert "spec.canary.models.routes[0].apiKey: Secret llm-next not found" in plan.status.message

    promoted = {
        "version": "1.4.0", "baseVersion": "1.4.0", "weight": 0, "step": 1, "phase": "Promoted",
        "startedAt": NOW, "stepStartedAt": NOW, "overlay": {"models": {"routes": [route]}},
    }  # fmt: skip
    assert "llm-next" in decide.secret_names(parse.bot_view(bot_body({"canary": promoted}), NS), ())
    assert desired.refs
