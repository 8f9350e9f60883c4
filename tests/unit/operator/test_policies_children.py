"""Desired vs live objects → create / patch / delete; no-ops stay no-ops despite server defaults."""

import copy
from typing import Any

from parley_operator.observed import BotView, Observed, Ref
from parley_operator.policies import children
from parley_operator.render import OwnerRef, render_bot
from unit.operator.operator_factories import CANARY, make_binding, make_chatbot

NS = "bots"


def desired(**spec: Any) -> list[dict[str, Any]]:
    bot = make_chatbot("helpdesk", **spec)
    owner = OwnerRef("parley.dev/v1alpha1", "ChatBot", "helpdesk", "uid-1")
    return render_bot(bot, [make_binding()], namespace=NS, owner=owner)


def observed(live: dict[Ref, dict[str, Any] | None], stale: tuple[Ref, ...] = ()) -> Observed:
    view = BotView(NS, "helpdesk", "uid-1", 1, {}, make_chatbot("helpdesk"))
    return Observed(view, (), {}, live, stale)


def as_served(obj: dict[str, Any]) -> dict[str, Any]:
    """What an API server hands back: our fields plus metadata and defaults, also inside lists."""
    out = copy.deepcopy(obj)
    out["metadata"].update({"uid": "x", "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z"})
    if out["kind"] == "Deployment":
        for c in out["spec"]["template"]["spec"]["containers"]:
            c["imagePullPolicy"] = "IfNotPresent"
            c["terminationMessagePath"] = "/dev/termination-log"
        out["status"] = {"replicas": 2}
    if out["kind"] == "Service":
        for port in out["spec"]["ports"]:
            port.setdefault("protocol", "TCP")
        out["spec"]["clusterIP"] = "10.0.0.7"
    return out


def test_everything_absent_is_created_and_only_the_internal_secret_gets_a_token() -> None:
    objs = desired()
    plan = children.plan(objs, observed({Ref.of(o): None for o in objs}), token_secret="helpdesk-internal")
    assert {c.ref for c in plan.creates} == {Ref.of(o) for o in objs}
    assert not plan.patches and not plan.deletes
    tokens = [c.ref for c in plan.creates if c.generate_token]
    assert tokens == [Ref("v1", "Secret", NS, "helpdesk-internal")]


def test_live_objects_with_server_defaults_are_a_no_op() -> None:
    objs = desired()
    plan = children.plan(
        objs, observed({Ref.of(o): as_served(o) for o in objs}), token_secret="helpdesk-internal"
    )
    assert plan.empty


def test_a_version_change_patches_only_the_fields_that_differ() -> None:
    old, new = desired(), desired(version="1.5.0")
    live = {Ref.of(o): as_served(o) for o in old}
    plan = children.plan(new, observed(live), token_secret="helpdesk-internal")
    assert not plan.creates and not plan.deletes
    engine = next(p for p in plan.patches if p.ref == Ref("apps/v1", "Deployment", NS, "helpdesk"))
    assert engine.patch["metadata"] == {"labels": {"app.kubernetes.io/version": "1.5.0"}}
    container = engine.patch["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(":1.5.0")
    assert "uid" not in engine.patch["metadata"] and "status" not in engine.patch


def test_the_internal_secret_data_is_never_patched() -> None:
    objs = desired()
    live = {Ref.of(o): as_served(o) for o in objs}
    secret_ref = Ref("v1", "Secret", NS, "helpdesk-internal")
    live[secret_ref] = {**live[secret_ref], "data": {"token": "b3BhcXVl"}}  # type: ignore[dict-item]
    plan = children.plan(objs, observed(live), token_secret="helpdesk-internal")
    assert all(p.ref != secret_ref for p in plan.patches)


def test_drifted_field_is_put_back() -> None:
    objs = desired()
    live = {Ref.of(o): as_served(o) for o in objs}
    hpa = Ref("autoscaling/v2", "HorizontalPodAutoscaler", NS, "helpdesk")
    live[hpa]["spec"]["maxReplicas"] = 99  # type: ignore[index]
    plan = children.plan(objs, observed(live), token_secret="helpdesk-internal")
    assert [(p.ref, p.patch) for p in plan.patches] == [(hpa, {"spec": {"maxReplicas": 10}})]


def test_objects_owned_but_no_longer_rendered_are_deleted() -> None:
    with_canary = desired(canary=CANARY)
    without = desired()
    canary_refs = {Ref.of(o) for o in with_canary} - {Ref.of(o) for o in without}
    assert Ref("apps/v1", "Deployment", NS, "helpdesk-canary") in canary_refs
    live = {Ref.of(o): as_served(o) for o in without}
    stale = tuple(sorted(canary_refs | {Ref("apps/v1", "Deployment", NS, "helpdesk")}))
    plan = children.plan(without, observed(live, stale), token_secret="helpdesk-internal")
    assert {d.ref for d in plan.deletes} == canary_refs  # a desired object is never deleted


def test_merge_patch_replaces_lists_whole_and_recurses_into_dicts() -> None:
    live = {"a": {"b": 1, "c": 2}, "l": [1, 2, 3], "x": "same"}
    want = {"a": {"b": 5}, "l": [1, 2], "x": "same", "n": None}
    assert children.merge_patch(live, want) == {"a": {"b": 5}, "l": [1, 2], "n": None}
    assert children.merge_patch(live, {"a": {"b": 1}, "x": "same"}) is None


def test_covers_compares_list_items_as_subsets() -> None:
    assert children.covers([{"a": 1, "extra": 2}], [{"a": 1}])
    assert not children.covers([{"a": 1}, {"a": 2}], [{"a": 1}])
    assert not children.covers({"a": 1}, {"a": 1, "b": 2})
    assert not children.covers("1", 1)
