"""Desired vs live objects → create / patch / delete; no-ops stay no-ops despite server defaults."""

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

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
    """What an API server hands back after we wrote `obj`: our fields (with the last-applied record)
    plus metadata and defaults, also inside lists."""
    out = copy.deepcopy(children.recorded(obj))
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
    assert engine.patch["metadata"]["labels"] == {"app.kubernetes.io/version": "1.5.0"}
    assert set(engine.patch["metadata"]["annotations"]) == {children.LAST_APPLIED}
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


def test_unnamed_lists_are_replaced_whole_and_dicts_merge_key_by_key() -> None:
    live = {"a": {"b": 1, "c": 2}, "l": [1, 2, 3], "x": "same"}
    want = {"a": {"b": 5}, "l": [1, 2], "x": "same", "n": None}
    assert children.three_way_patch(live, want, {}) == {"a": {"b": 5}, "l": [1, 2], "n": None}
    assert children.three_way_patch(live, {"a": {"b": 1}, "x": "same"}, {}) is None


def test_covers_compares_list_items_as_subsets() -> None:
    assert children.covers([{"a": 1, "extra": 2}], [{"a": 1}])
    assert not children.covers([{"a": 1}, {"a": 2}], [{"a": 1}])
    assert not children.covers({"a": 1}, {"a": 1, "b": 2})
    assert not children.covers("1", 1)


ENGINE = Ref("apps/v1", "Deployment", NS, "helpdesk")


def _engine_container(obj: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return container


def _served(objs: list[dict[str, Any]]) -> dict[Ref, dict[str, Any] | None]:
    return {Ref.of(o): as_served(o) for o in objs}


def _after(live: dict[str, Any], plan: children.Plan, ref: Ref) -> Any:
    patch = next((p.patch for p in plan.patches if p.ref == ref), None)
    return children.apply_merge_patch(live, patch) if patch else live


def test_a_limit_removed_in_git_is_removed_from_the_live_object() -> None:
    before = desired(resources={"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "100m"}})
    after = desired(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "100m"}})
    live = _served(before)
    assert _engine_container(live[ENGINE])["resources"]["limits"]["memory"] == "512Mi"  # type: ignore[arg-type]
    plan = children.plan(after, observed(live), token_secret="helpdesk-internal")
    now = _after(live[ENGINE], plan, ENGINE)  # type: ignore[arg-type]
    assert _engine_container(now)["resources"]["limits"] == {"cpu": "1"}
    # …and once applied, the next round has nothing left to do.
    live[ENGINE] = now
    assert all(p.ref != ENGINE for p in children.plan(after, observed(live), token_secret="x").patches)


def test_what_others_wrote_survives_while_our_fields_converge() -> None:
    before, after = desired(), desired(version="1.5.0")
    live = _served(before)
    engine = live[ENGINE]
    assert engine is not None
    engine["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "3"
    engine["metadata"]["labels"]["team"] = "support"
    engine["spec"]["replicas"] = 7  # the HPA's
    pod = engine["spec"]["template"]["spec"]
    pod["containers"].append({"name": "istio-proxy", "image": "istio/proxyv2:1.24"})
    pod.setdefault("volumes", []).append({"name": "istio-envoy", "emptyDir": {}})
    plan = children.plan(after, observed(live), token_secret="helpdesk-internal")
    now = _after(engine, plan, ENGINE)
    assert now["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert now["metadata"]["labels"]["team"] == "support"
    assert now["spec"]["replicas"] == 7
    names = [c["name"] for c in now["spec"]["template"]["spec"]["containers"]]
    assert names[-1] == "istio-proxy" and len(names) == len(set(names))
    assert _engine_container(now)["image"].endswith(":1.5.0")
    assert _engine_container(now)["imagePullPolicy"] == "IfNotPresent"  # server default kept
    assert {"name": "istio-envoy", "emptyDir": {}} in now["spec"]["template"]["spec"]["volumes"]
    live[ENGINE] = now
    assert all(p.ref != ENGINE for p in children.plan(after, observed(live), token_secret="x").patches)


def test_a_list_item_we_no_longer_render_is_removed_by_name() -> None:
    live = {
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "INJECTED", "value": "x"}]
    }
    last = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    want = {"env": [{"name": "A", "value": "9"}]}
    patch = children.three_way_patch(live, want, last)
    assert patch == {"env": [{"name": "A", "value": "9"}, {"name": "INJECTED", "value": "x"}]}


def test_without_a_record_nothing_is_removed() -> None:
    live = {"a": 1, "b": 2}
    assert children.three_way_patch(live, {"a": 1}, {}) is None
    assert children.three_way_patch(live, {"a": 1}, {"a": 1, "b": 2}) == {"b": None}


def test_the_record_never_goes_on_a_secret() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}
    assert children.recorded(secret) == secret


_leaf = st.one_of(st.integers(0, 3), st.sampled_from(["x", "y"]))
_docs = st.recursive(
    st.dictionaries(st.sampled_from("abcd"), _leaf, max_size=4),
    lambda inner: st.dictionaries(st.sampled_from("abcd"), st.one_of(_leaf, inner), max_size=4),
    max_leaves=12,
)


@given(live=_docs, desired_=_docs, last=_docs)
def test_three_way_converges_and_keeps_what_is_not_ours(
    live: dict[str, Any], desired_: dict[str, Any], last: dict[str, Any]
) -> None:
    after = children.apply_merge_patch(live, children.three_way_patch(live, desired_, last) or {})
    assert children.covers(after, desired_)
    assert children.three_way_patch(after, desired_, last) is None  # a second round is a no-op
    for key, value in live.items():
        if key not in desired_ and key not in last:
            assert after[key] == value  # nobody told us about it: someone else's
        if key in last and key not in desired_:
            assert key not in after  # ours once, dropped from git: removed
