"""render_bot as a whole: which objects exist, their names, namespaces, labels, owners and order."""

import json

import pytest

from parley_operator.render import OwnerRef, RenderError, render_bot
from parley_operator.render.bot import DEFAULT_IMAGE
from unit.operator.operator_factories import CANARY, by_kind_name, make_binding, make_chatbot

OWNER = OwnerRef("parley.dev/v1alpha1", "ChatBot", "helpdesk", "0b6e5f0e-1111-2222-3333-444455556666")

STABLE_OBJECTS = {
    ("ConfigMap", "helpdesk-config"),
    ("ConfigMap", "helpdesk-routes"),
    ("Deployment", "helpdesk"),
    ("Deployment", "helpdesk-gateway"),
    ("HorizontalPodAutoscaler", "helpdesk"),
    ("HorizontalPodAutoscaler", "helpdesk-gateway"),
    ("NetworkPolicy", "helpdesk"),
    ("NetworkPolicy", "helpdesk-gateway"),
    ("PodDisruptionBudget", "helpdesk"),
    ("PodDisruptionBudget", "helpdesk-gateway"),
    ("Role", "helpdesk-gateway"),
    ("RoleBinding", "helpdesk-gateway"),
    ("Secret", "helpdesk-internal"),
    ("Service", "helpdesk-engine"),
    ("Service", "helpdesk-gateway"),
    ("ServiceAccount", "helpdesk"),
}
CANARY_OBJECTS = {
    ("ConfigMap", "helpdesk-canary-config"),
    ("Deployment", "helpdesk-canary"),
    ("HorizontalPodAutoscaler", "helpdesk-canary"),
    ("PodDisruptionBudget", "helpdesk-canary"),
    ("Service", "helpdesk-engine-canary"),
}


def test_without_canary_renders_exactly_the_stable_objects() -> None:
    objects = render_bot(make_chatbot(), [make_binding()], namespace="bots")
    assert set(by_kind_name(objects)) == STABLE_OBJECTS
    assert len(objects) == len(STABLE_OBJECTS)


def test_network_policies_let_only_the_gateway_and_scrapers_reach_the_engines() -> None:
    objects = by_kind_name(render_bot(make_chatbot(canary=CANARY), [make_binding()], namespace="bots"))
    engine = objects[("NetworkPolicy", "helpdesk")]["spec"]
    assert engine["policyTypes"] == ["Ingress"]  # egress stays open: providers and platforms are outside
    assert engine["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "engine"
    assert "parley.dev/track" not in engine["podSelector"]["matchLabels"]  # stable and canary engines
    [rule] = engine["ingress"]
    gateway_pods, scrapers = rule["from"]
    assert gateway_pods["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"
    assert gateway_pods["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "helpdesk"
    assert scrapers["namespaceSelector"]["matchExpressions"][0]["values"] == ["monitoring", "parley-system"]
    gateway = objects[("NetworkPolicy", "helpdesk-gateway")]["spec"]
    assert gateway["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8080}]}]  # webhooks from anywhere


def test_network_policies_can_be_turned_off() -> None:
    objects = render_bot(make_chatbot(networkPolicy=False), [make_binding()], namespace="bots")
    assert not [o for o in objects if o["kind"] == "NetworkPolicy"]


def test_canary_adds_its_deployment_hpa_pdb_and_service() -> None:
    objects = render_bot(make_chatbot(canary=CANARY), [make_binding()], namespace="bots")
    assert set(by_kind_name(objects)) == STABLE_OBJECTS | CANARY_OBJECTS


def test_objects_are_sorted_by_kind_then_name() -> None:
    objects = render_bot(make_chatbot(canary=CANARY), [make_binding()], namespace="bots")
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert keys == sorted(keys)


def test_rendering_twice_gives_identical_output() -> None:
    bot, bindings = make_chatbot(canary=CANARY), [make_binding("b"), make_binding("a", platform="slack")]
    first = render_bot(bot, bindings, namespace="bots", canary_weight=10, owner=OWNER)
    second = render_bot(bot, list(reversed(bindings)), namespace="bots", canary_weight=10, owner=OWNER)
    assert json.dumps(first) == json.dumps(second)


def test_every_object_is_namespaced_and_labelled() -> None:
    for obj in render_bot(make_chatbot(canary=CANARY), [make_binding()], namespace="bots"):
        meta = obj["metadata"]
        assert meta["namespace"] == "bots"
        labels = meta["labels"]
        assert labels["app.kubernetes.io/instance"] == "helpdesk"
        assert labels["app.kubernetes.io/managed-by"] == "parley-operator"
        assert labels["app.kubernetes.io/part-of"] == "parley"
        assert labels["app.kubernetes.io/name"] == "parley"
        assert labels["app.kubernetes.io/component"]
        assert labels["app.kubernetes.io/version"] in ("1.4.0", "1.5.0")


def test_canary_objects_carry_the_canary_version_and_track() -> None:
    objects = by_kind_name(render_bot(make_chatbot(canary=CANARY), [], namespace="bots"))
    for key in CANARY_OBJECTS:
        assert objects[key]["metadata"]["labels"]["parley.dev/track"] == "canary"
    assert (
        objects[("Deployment", "helpdesk-canary")]["metadata"]["labels"]["app.kubernetes.io/version"]
        == "1.5.0"
    )
    assert objects[("Deployment", "helpdesk")]["metadata"]["labels"]["parley.dev/track"] == "stable"


def test_owner_reference_on_every_object_when_given() -> None:
    for obj in render_bot(make_chatbot(canary=CANARY), [make_binding()], namespace="bots", owner=OWNER):
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "parley.dev/v1alpha1",
                "kind": "ChatBot",
                "name": "helpdesk",
                "uid": OWNER.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_no_owner_reference_without_owner() -> None:
    for obj in render_bot(make_chatbot(), [], namespace="bots"):
        assert "ownerReferences" not in obj["metadata"]


def test_owner_of_a_bot_read_from_the_cluster() -> None:
    doc = make_chatbot().model_dump(by_alias=True)
    doc["metadata"]["uid"] = "abc"
    from parley_runtime.config.models import ChatBot

    assert OwnerRef.of(ChatBot.model_validate(doc)) == OwnerRef(
        "parley.dev/v1alpha1", "ChatBot", "helpdesk", "abc"
    )
    assert OwnerRef.of(make_chatbot()) is None


def test_image_is_the_builtin_repository_tagged_with_the_version() -> None:
    objects = by_kind_name(render_bot(make_chatbot(canary=CANARY), [], namespace="bots"))

    def image(name: str) -> str:
        return str(objects[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["image"])

    assert image("helpdesk") == f"{DEFAULT_IMAGE}:1.4.0"
    assert image("helpdesk-gateway") == f"{DEFAULT_IMAGE}:1.4.0"
    assert image("helpdesk-canary") == f"{DEFAULT_IMAGE}:1.5.0"


def test_spec_image_and_override_choose_the_repository() -> None:
    bot = make_chatbot(image="registry.example.com:5000/team/parley")
    dep = by_kind_name(render_bot(bot, [], namespace="bots"))[("Deployment", "helpdesk")]
    assert (
        dep["spec"]["template"]["spec"]["containers"][0]["image"]
        == "registry.example.com:5000/team/parley:1.4.0"
    )
    dep = by_kind_name(render_bot(bot, [], namespace="bots", image="mirror.local/parley"))[
        ("Deployment", "helpdesk")
    ]
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.local/parley:1.4.0"


@pytest.mark.parametrize("image", ["ghcr.io/x/parley:1.0", "ghcr.io/x/parley@sha256:abc", "bad image"])
def test_image_with_tag_or_digest_is_rejected(image: str) -> None:
    with pytest.raises(RenderError, match="without tag or digest"):
        render_bot(make_chatbot(image=image), [], namespace="bots")


@pytest.mark.parametrize("weight", [-1, 101])
def test_canary_weight_outside_0_100_is_rejected(weight: int) -> None:
    with pytest.raises(RenderError, match="between 0 and 100"):
        render_bot(make_chatbot(canary=CANARY), [], namespace="bots", canary_weight=weight)


def test_bindings_of_other_bots_are_ignored() -> None:
    mine = render_bot(make_chatbot(), [make_binding()], namespace="bots")
    other = make_binding("other-slack", bot="other", platform="slack", secret="other-slack")
    assert render_bot(make_chatbot(), [make_binding(), other], namespace="bots") == mine


def test_gateway_role_only_allows_leases_in_its_namespace() -> None:
    objects = by_kind_name(render_bot(make_chatbot(), [], namespace="bots"))
    role = objects[("Role", "helpdesk-gateway")]
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}
    ]
    binding = objects[("RoleBinding", "helpdesk-gateway")]
    assert binding["roleRef"]["name"] == "helpdesk-gateway"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "helpdesk", "namespace": "bots"}]
    assert objects[("ServiceAccount", "helpdesk")]["automountServiceAccountToken"] is False


def test_services_select_the_right_pods() -> None:
    objects = by_kind_name(render_bot(make_chatbot(canary=CANARY), [], namespace="bots"))
    gateway = objects[("Service", "helpdesk-gateway")]["spec"]
    assert gateway["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert gateway["selector"]["app.kubernetes.io/component"] == "gateway"
    # The gateway forwards each track's chat requests to that track's Service: never mixed.
    engine = objects[("Service", "helpdesk-engine")]["spec"]["selector"]
    assert engine["app.kubernetes.io/component"] == "engine"
    assert engine["parley.dev/track"] == "stable"
    canary = objects[("Service", "helpdesk-engine-canary")]["spec"]["selector"]
    assert canary["parley.dev/track"] == "canary"
    canary_pods = objects[("Deployment", "helpdesk-canary")]["spec"]["template"]["metadata"]["labels"]
    stable_pods = objects[("Deployment", "helpdesk")]["spec"]["template"]["metadata"]["labels"]
    assert engine.items() <= stable_pods.items()
    assert not engine.items() <= canary_pods.items()
    assert canary.items() <= canary_pods.items()
    assert not canary.items() <= stable_pods.items()


def test_public_names_are_exported() -> None:
    import parley_operator.render as render

    assert sorted(render.__all__) == ["OwnerRef", "RenderError", "render_bot"]
    for name in render.__all__:
        assert getattr(render, name) is not None
