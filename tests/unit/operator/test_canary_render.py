"""Render inputs of the gray release: the weight, the promoted stable version, the per-track Services."""

import json

from parley_operator.render import render_bot
from unit.operator.operator_factories import CANARY, by_kind_name, make_binding, make_chatbot


def image(objects: dict[tuple[str, str], dict], name: str) -> str:  # type: ignore[type-arg]
    return str(objects[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["image"])


def test_a_promoted_version_runs_the_stable_track_before_git_says_so() -> None:
    bot = make_chatbot()  # spec.version 1.4.0, canary removed after promotion
    objects = by_kind_name(render_bot(bot, [], namespace="bots", stable_version="1.5.0"))
    assert image(objects, "helpdesk").endswith(":1.5.0")
    assert image(objects, "helpdesk-gateway").endswith(":1.5.0")
    routes = json.loads(objects[("ConfigMap", "helpdesk-routes")]["data"]["routes.json"])
    assert routes["stableVersion"] == "1.5.0" and routes["canaryWeight"] == 0
    assert objects[("Deployment", "helpdesk")]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.5.0"


def test_updating_spec_version_after_a_promotion_changes_nothing() -> None:
    """The GitOps PR that writes the promoted version into git must not restart a single pod."""
    promoted = render_bot(make_chatbot(), [make_binding()], namespace="bots", stable_version="1.5.0")
    in_git = render_bot(make_chatbot(version="1.5.0"), [make_binding()], namespace="bots")
    assert promoted == in_git


def test_offline_render_uses_spec_version() -> None:
    objects = by_kind_name(render_bot(make_chatbot(canary=CANARY), [], namespace="bots"))
    assert image(objects, "helpdesk").endswith(":1.4.0")
    assert image(objects, "helpdesk-canary").endswith(":1.5.0")


def test_the_weight_reaches_only_the_route_file() -> None:
    bot = make_chatbot(canary=CANARY)
    at_0 = by_kind_name(render_bot(bot, [], namespace="bots", canary_weight=0))
    at_40 = by_kind_name(render_bot(bot, [], namespace="bots", canary_weight=40))
    changed = {key for key in at_0 if at_0[key] != at_40[key]}
    assert changed == {("ConfigMap", "helpdesk-routes")}
    routes = json.loads(at_40[("ConfigMap", "helpdesk-routes")]["data"]["routes.json"])
    assert routes == {
        "bot": "helpdesk",
        "stableVersion": "1.4.0",
        "canaryVersion": "1.5.0",
        "canaryWeight": 40,
    }
