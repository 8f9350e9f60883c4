from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import binding_doc, chatbot_doc, dump_yaml
from parley_runtime.config import loader, secrets
from parley_runtime.config.errors import ConfigError, field_path


def write(tmp_path: Path, text: str, name: str = "bot.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(*paths: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loader.load_manifests(paths)
    return info.value.problems


def test_loads_bot_and_bindings_from_one_multi_document_file(tmp_path: Path) -> None:
    path = write(tmp_path, dump_yaml(chatbot_doc(), binding_doc(), binding_doc("other", bot="nobody")))
    manifests = loader.load_manifests([path])
    bot = manifests.bot()
    assert bot.obj.name == "helpdesk"
    assert bot.source == str(path)
    assert [b.obj.name for b in manifests.bindings_for("helpdesk")] == ["helpdesk-http"]


def test_other_kubernetes_objects_in_the_file_are_skipped(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "llm"}, "stringData": {"k": "v"}}
    path = write(tmp_path, dump_yaml(secret, chatbot_doc()))
    assert loader.load_manifests([path]).bot().obj.name == "helpdesk"


def test_unknown_field_is_named_with_file_and_path(tmp_path: Path) -> None:
    doc = chatbot_doc(models={"routes": [{"name": "a", "provider": "echo", "model": "m", "colour": 1}]})
    path = write(tmp_path, dump_yaml(doc))
    assert problems_of(path) == [f"{path}: ChatBot/helpdesk: spec.models.routes[0].colour: unknown field"]


def test_wrong_type_and_range_are_reported_each_on_one_line(tmp_path: Path) -> None:
    doc = chatbot_doc(
        scaling={"minReplicas": 5, "maxReplicas": 2},
        models={"routes": [{"name": "a", "provider": "echo", "model": "m", "weight": 101}]},
    )
    problems = problems_of(write(tmp_path, dump_yaml(doc)))
    assert any("spec.models.routes[0].weight" in p and "100" in p for p in problems)
    assert any("spec.scaling" in p and "minReplicas must be <= maxReplicas" in p for p in problems)
    assert all("\n" not in p for p in problems)


def test_missing_required_field(tmp_path: Path) -> None:
    doc = chatbot_doc()
    del doc["spec"]["version"]
    assert problems_of(write(tmp_path, dump_yaml(doc))) == [
        f"{tmp_path / 'bot.yaml'}: ChatBot/helpdesk: spec.version: required field is missing"
    ]


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: parley.dev/v1alpha1\nkind: ChatBot\nmetadata: {name: [\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: line ") and "invalid YAML" in problem


def test_unreadable_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "absent.yaml")
    assert problem.startswith(f"{tmp_path / 'absent.yaml'}: cannot read")


def test_unknown_parley_kind(tmp_path: Path) -> None:
    doc = {"apiVersion": "parley.dev/v1alpha1", "kind": "ChatRobot", "metadata": {"name": "x"}}
    assert "unknown kind 'ChatRobot'" in problems_of(write(tmp_path, dump_yaml(doc)))[0]


def test_duplicate_objects_across_files(tmp_path: Path) -> None:
    a = write(tmp_path, dump_yaml(chatbot_doc()), "a.yaml")
    b = write(tmp_path, dump_yaml(chatbot_doc()), "b.yaml")
    assert problems_of(a, b) == [f"{b}: ChatBot/helpdesk: defined twice (also in {a})"]


def test_bot_choice_when_several(tmp_path: Path) -> None:
    manifests = loader.load_manifests([write(tmp_path, dump_yaml(chatbot_doc("a"), chatbot_doc("b")))])
    with pytest.raises(ConfigError, match="exactly one ChatBot"):
        manifests.bot()
    assert manifests.bot("b").obj.name == "b"
    with pytest.raises(ConfigError, match="no ChatBot named 'c'"):
        manifests.bot("c")


def test_bot_name_must_be_a_dns_label(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, dump_yaml(chatbot_doc("Help_Desk"))))
    assert "metadata" in problem and "DNS label" in problem


def test_platform_settings_are_validated_per_platform(tmp_path: Path) -> None:
    doc = binding_doc(platform="telegram", secret="tg", mode="carrier-pigeon")
    problems = problems_of(write(tmp_path, dump_yaml(chatbot_doc(), doc)))
    assert len(problems) == 1 and "spec.settings" in problems[0] and "mode" in problems[0]


def test_platform_without_required_credentials(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, dump_yaml(chatbot_doc(), binding_doc(platform="slack"))))
    assert "needs credentials.secretRef" in problems[0]


def test_secrets_resolve_from_files_and_missing_ones_are_named(tmp_path: Path) -> None:
    route = {
        "name": "a",
        "provider": "openai-compatible",
        "model": "m",
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "openai"}},
    }
    path = write(
        tmp_path,
        dump_yaml(chatbot_doc(models={"routes": [route]}), binding_doc(platform="telegram", secret="tg")),
    )
    manifests = loader.load_manifests([path])
    root = tmp_path / "secrets"
    with pytest.raises(ConfigError) as info:
        secrets.resolve(manifests.bot(), manifests.bindings_for("helpdesk"), root)
    assert any("spec.models.routes[0].apiKey: secret llm/openai not found" in p for p in info.value.problems)
    assert any("secret tg has no key botToken" in p for p in info.value.problems)
    (root / "llm").mkdir(parents=True)
    (root / "llm" / "openai").write_text("sk-test-123\n")
    (root / "tg").mkdir()
    (root / "tg" / "botToken").write_text("123:abc")
    (root / "tg" / "secretToken").write_text("s3cret")
    resolved = secrets.resolve(manifests.bot(), manifests.bindings_for("helpdesk"), root)
    assert resolved.get(manifests.bot().obj.spec.models.routes[0].api_key) == "sk-test-123"
    assert resolved.credentials["helpdesk-http"] == {"botToken": "123:abc", "secretToken": "s3cret"}
    assert "sk-test-123" not in repr(resolved) and "s3cret" not in repr(resolved)


def test_secret_names_cannot_escape_the_folder(tmp_path: Path) -> None:
    (tmp_path / "outside").write_text("x")
    assert secrets.read_secret(tmp_path / "s", "..", "outside") is None


def test_example_manifests_load() -> None:
    for path in sorted(Path("manifests/examples").glob("*.yaml")):
        manifests = loader.load_manifests([path])
        assert manifests.bots, path


def test_field_path_formatting() -> None:
    assert field_path(("spec", "models", "routes", 0, "weight")) == "spec.models.routes[0].weight"
    assert field_path(()) == ""


# Property: whatever YAML-able junk is fed in, the loader either loads or raises ConfigError whose
# problems are single lines naming the file — never any other exception.
yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    spec=st.dictionaries(
        st.sampled_from(["version", "models", "persona", "session", "scaling", "canary", "plugins", "x"]),
        yaml_values,
        max_size=6,
    )
)
def test_loader_never_crashes_on_arbitrary_specs(tmp_path: Path, spec: dict[str, object]) -> None:
    doc = {"apiVersion": "parley.dev/v1alpha1", "kind": "ChatBot", "metadata": {"name": "b"}, "spec": spec}
    path = write(tmp_path, yaml.safe_dump(doc))
    try:
        loader.load_manifests([path])
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.startswith(str(path)) and "\n" not in problem


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(text=st.text(max_size=200))
def test_loader_never_crashes_on_arbitrary_text(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    try:
        loader.load_manifests([path])
    except ConfigError as exc:
        assert all("\n" not in p for p in exc.problems)


@given(weight=st.integers(0, 100), priority=st.integers(0, 1000))
def test_valid_routes_round_trip(weight: int, priority: int) -> None:
    from parley_runtime.config.models import ChatBot

    doc = chatbot_doc(
        models={
            "routes": [
                {"name": "a", "provider": "echo", "model": "m", "weight": weight, "priority": priority}
            ]
        }
    )
    bot = ChatBot.model_validate(doc)
    again = ChatBot.model_validate(bot.model_dump(by_alias=True, exclude_none=True))
    assert again == bot
