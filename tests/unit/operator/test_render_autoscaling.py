"""HPAs and PDBs: one per Deployment, defaults 2/10/70, spec overrides."""

from parley_operator.render import render_bot
from unit.operator.operator_factories import CANARY, by_kind_name, make_chatbot


def test_hpa_defaults() -> None:
    objects = by_kind_name(render_bot(make_chatbot(), [], namespace="bots"))
    for name in ("helpdesk", "helpdesk-gateway"):
        spec = objects[("HorizontalPodAutoscaler", name)]["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
        assert spec["metrics"] == [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            }
        ]


def test_hpa_follows_spec_scaling_for_every_deployment() -> None:
    bot = make_chatbot(
        canary=CANARY, scaling={"minReplicas": 3, "maxReplicas": 30, "targetCPUUtilizationPercentage": 55}
    )
    objects = by_kind_name(render_bot(bot, [], namespace="bots"))
    for name in ("helpdesk", "helpdesk-gateway", "helpdesk-canary"):
        spec = objects[("HorizontalPodAutoscaler", name)]["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 30)
        assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 55


def test_pdb_allows_one_unavailable_and_selects_its_deployment() -> None:
    objects = by_kind_name(render_bot(make_chatbot(canary=CANARY), [], namespace="bots"))
    for name in ("helpdesk", "helpdesk-gateway", "helpdesk-canary"):
        pdb = objects[("PodDisruptionBudget", name)]["spec"]
        assert pdb["maxUnavailable"] == 1
        assert pdb["selector"] == objects[("Deployment", name)]["spec"]["selector"]
