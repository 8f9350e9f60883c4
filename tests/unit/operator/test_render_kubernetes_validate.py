"""Every rendered object is valid for real Kubernetes API versions (strict: no unknown fields).

The installed kubernetes-validate ships schemas for 1.25-1.37, so 1.30 and 1.34 are checked exactly.
"""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from parley_operator.render import OwnerRef, render_bot
from parley_runtime.config.loader import load_manifests
from unit.operator.operator_factories import CANARY, make_binding, make_chatbot

EXAMPLES = sorted((Path(__file__).parents[3] / "manifests" / "examples").glob("*.yaml"))
VERSIONS = ("1.30", "1.34")
OWNER = OwnerRef("parley.dev/v1alpha1", "ChatBot", "x", "6a1c8f7e-0000-4000-8000-000000000001")


def _example_objects(path: Path) -> list[dict[str, Any]]:
    manifests = load_manifests([path])
    out: list[dict[str, Any]] = []
    for loaded in manifests.bots:
        bot = loaded.obj
        bindings = [b.obj for b in manifests.bindings_for(bot.name)]
        out += render_bot(
            bot, bindings, namespace=bot.metadata.namespace or "default", canary_weight=10, owner=OWNER
        )
    return out


VARIATIONS: dict[str, list[dict[str, Any]]] = {
    "minimal-no-redis": render_bot(
        make_chatbot(redis=None, models={"routes": [{"name": "e", "provider": "echo", "model": "e"}]}),
        [],
        namespace="default",
    ),
    "canary-limits-owner": render_bot(
        make_chatbot(
            canary=CANARY, resources={"requests": {"cpu": "1"}, "limits": {"cpu": "2", "memory": "1Gi"}}
        ),
        [make_binding(), make_binding("helpdesk-x", platform="http", secret=None)],
        namespace="bots",
        canary_weight=100,
        owner=OWNER,
    ),
    "long-names": render_bot(
        make_chatbot("b" * 45, version="v" + "9" * 127),
        [make_binding("p" * 253, bot="b" * 45, secret="s." + "s" * 250)],
        namespace="n" * 63,
    ),
}


def test_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {
        "quickstart.yaml",
        "feishu-helpdesk.yaml",
        "telegram-fallback.yaml",
        "multi-platform-canary.yaml",
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_objects_are_valid(path: Path, version: str) -> None:
    objects = _example_objects(path)
    assert objects
    for obj in objects:
        assert kubernetes_validate.validate(obj, version, strict=True) == version


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(VARIATIONS))
def test_variation_objects_are_valid(name: str, version: str) -> None:
    for obj in VARIATIONS[name]:
        assert kubernetes_validate.validate(obj, version, strict=True) == version


def test_label_values_stay_valid_for_long_versions() -> None:
    for obj in VARIATIONS["long-names"]:
        version = obj["metadata"]["labels"]["app.kubernetes.io/version"]
        assert len(version) <= 63 and version[0].isalnum() and version[-1].isalnum()


def test_validator_rejects_an_unknown_field() -> None:
    """The check above is only worth something if strict mode does reject bad objects."""
    bad = dict(VARIATIONS["minimal-no-redis"][0])
    bad["spek"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.30", strict=True)
