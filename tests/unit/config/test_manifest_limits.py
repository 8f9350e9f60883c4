"""The loader's limits (SPEC §15): size, depth, alias expansion, duplicate keys, no parley object.

Each limit is checked with libyaml's event parser (the default where PyYAML has it) and with PyYAML's
pure-Python one (the fallback), so both paths refuse the same inputs with the same line.
"""

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from factories import binding_doc, chatbot_doc, dump_yaml
from parley_runtime.config import loader
from parley_runtime.config.errors import ConfigError

BOT = dump_yaml(chatbot_doc())


@pytest.fixture(params=["libyaml", "python"])
def events(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which event parser the loader uses for this test."""
    if request.param == "libyaml" and not yaml.__with_libyaml__:
        pytest.skip("PyYAML is built without libyaml here")
    monkeypatch.setattr(yaml, "__with_libyaml__", request.param == "libyaml")
    yield request.param


def write(tmp_path: Path, text: str, name: str = "bot.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    """The one problem reading `path` gives."""
    with pytest.raises(ConfigError) as info:
        loader.read_manifest(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: ") and "\n" not in problem
    return problem.removeprefix(f"{path}: ")


def billion_laughs(levels: int = 9) -> str:
    """A ChatBot whose plugin config holds `levels` levels of nine aliases each: 9**levels strings."""
    lines = [
        BOT.rstrip("\n"),
        "  plugins:",
        "  - name: lol",
        "    config:",
        '      l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    lines += [f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    """A ChatBot, then a document whose deepest node is at `depth` (its root mapping is at 1)."""
    inner = depth - 1
    return f"{BOT}---\na: {'[' * inner}{']' * inner}\n"


# --- aliases ---------------------------------------------------------------------------------------


def test_billion_laughs_is_refused_before_it_expands(tmp_path: Path, events: str) -> None:
    path = write(tmp_path, billion_laughs())
    problem = refusal(path)
    assert problem.startswith("line ")
    assert f"YAML aliases expand to more than {loader.MAX_ALIAS_NODES} nodes" in problem


def test_aliases_within_the_budget_load(tmp_path: Path, events: str) -> None:
    # an anchored list of 99 strings is 100 nodes: referenced 100 times it adds exactly the budget
    items = ", ".join(f'"i{i}"' for i in range(99))
    refs = ", ".join(["*items"] * 100)
    path = write(tmp_path, f"{BOT}---\nanchor: &items [{items}]\nuses: [{refs}]\n")
    (_, bot), (_, extra) = loader.read_manifest(path)
    assert bot["metadata"]["name"] == "helpdesk"
    assert len(extra["uses"]) == 100 and extra["uses"][0] == [f"i{i}" for i in range(99)]


def test_one_alias_past_the_budget_is_refused(tmp_path: Path, events: str) -> None:
    items = ", ".join(f'"i{i}"' for i in range(99))
    refs = ", ".join(["*items"] * 101)
    path = write(tmp_path, f"{BOT}---\nanchor: &items [{items}]\nuses: [{refs}]\n")
    assert "YAML aliases expand to more than" in refusal(path)


def test_aliases_count_across_the_documents_of_a_file(tmp_path: Path, events: str) -> None:
    items = ", ".join(f'"i{i}"' for i in range(99))
    half = f"anchor: &items [{items}]\nuses: [{', '.join(['*items'] * 60)}]\n"
    path = write(tmp_path, f"{BOT}---\n{half}---\n{half}")
    assert "YAML aliases expand to more than" in refusal(path)


def test_a_long_string_repeated_through_aliases_is_refused(tmp_path: Path, events: str) -> None:
    long = "x" * (256 * 1024)
    path = write(tmp_path, f"{BOT}---\ns: &s {long}\nuses: [{', '.join(['*s'] * 21)}]\n")
    assert "YAML aliases repeat more than 5 MiB of text" in refusal(path)


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, events: str) -> None:
    path = write(tmp_path, BOT + "---\nloop: &loop {name: a, again: *loop}\n")
    assert refusal(path) == "line 13: alias *loop is inside the node it refers to"


def test_merge_keys_and_small_aliases_still_work(tmp_path: Path, events: str) -> None:
    text = BOT + "---\nbase: &base {x: 1, y: 2}\nmerged: {<<: *base, y: 3}\ntwice: [*base, *base]\n"
    (_, _), (_, extra) = loader.read_manifest(write(tmp_path, text))
    assert extra["merged"] == {"x": 1, "y": 3}
    assert extra["twice"] == [{"x": 1, "y": 2}, {"x": 1, "y": 2}]


# --- depth -----------------------------------------------------------------------------------------


def test_nesting_at_the_limit_loads(tmp_path: Path, events: str) -> None:
    documents = loader.read_manifest(write(tmp_path, nested(loader.MAX_DEPTH)))
    assert len(documents) == 2


def test_nesting_past_the_limit_is_refused(tmp_path: Path, events: str) -> None:
    path = write(tmp_path, nested(loader.MAX_DEPTH + 1))
    assert refusal(path) == f"line 13: nesting deeper than {loader.MAX_DEPTH} levels"


def test_fifty_thousand_brackets_are_one_line_not_a_recursion_error(tmp_path: Path, events: str) -> None:
    path = write(tmp_path, "[" * 50_000 + "]" * 50_000 + "\n")
    assert refusal(path) == f"line 1: nesting deeper than {loader.MAX_DEPTH} levels"


def test_depth_counts_what_an_alias_brings(tmp_path: Path, events: str) -> None:
    deep = "[" * 40 + "]" * 40
    path = write(tmp_path, f"{BOT}---\na: &deep {deep}\nb: {'[' * 30}*deep{']' * 30}\n")
    assert refusal(path) == f"line 14: nesting deeper than {loader.MAX_DEPTH} levels through alias *deep"


def test_a_recursion_error_still_becomes_one_line(tmp_path: Path, events: str) -> None:
    path = write(tmp_path, nested(loader.MAX_DEPTH))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 60)  # too few frames for 64 levels
    try:
        problem = refusal(path)
    finally:
        sys.setrecursionlimit(limit)
    assert problem == "nesting too deep to read"


# --- duplicate keys --------------------------------------------------------------------------------


def test_duplicate_key_is_named_with_its_line(tmp_path: Path, events: str) -> None:
    text = "apiVersion: parley.dev/v1alpha1\nkind: ChatBot\nmetadata:\n  name: a\n  name: b\nspec: {}\n"
    assert refusal(write(tmp_path, text)) == "line 5: duplicate key 'name' (first on line 4)"


def test_duplicate_key_in_a_flow_mapping_deep_inside(tmp_path: Path, events: str) -> None:
    text = BOT + "---\nouter:\n  inner: [{a: 1, b: 2, 'a': 3}]\n"
    assert refusal(write(tmp_path, text)) == "line 14: duplicate key 'a' (first on line 14)"


def test_keys_that_are_equal_once_read_are_duplicates(tmp_path: Path, events: str) -> None:
    text = BOT + "---\nports:\n  1: x\n  0x1: y\n"
    assert refusal(write(tmp_path, text)) == "line 15: duplicate key 1 (first on line 14)"


# --- size ------------------------------------------------------------------------------------------


def test_a_file_at_the_size_limit_loads(tmp_path: Path) -> None:
    padding = loader.MAX_FILE_BYTES - len(BOT.encode()) - 2
    path = write(tmp_path, BOT + "#" + "x" * padding + "\n")
    assert path.stat().st_size == loader.MAX_FILE_BYTES
    assert loader.read_manifest(path)[0][1]["kind"] == "ChatBot"


def test_one_byte_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    padding = loader.MAX_FILE_BYTES - len(BOT.encode()) - 1
    path = write(tmp_path, BOT + "#" + "x" * padding + "\n")
    assert path.stat().st_size == loader.MAX_FILE_BYTES + 1
    assert refusal(path) == "larger than the 5 MiB limit for a manifest"


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # sparse: costs no disk
    assert refusal(path) == "larger than the 5 MiB limit for a manifest"


def test_parse_documents_bounds_the_text_it_is_given() -> None:
    with pytest.raises(ConfigError, match="larger than the 5 MiB limit"):
        loader.parse_documents("#" * (loader.MAX_FILE_BYTES + 1), "given.yaml")


# --- files with nothing to load --------------------------------------------------------------------

NOTHING = "no ChatBot or PlatformBinding (apiVersion: parley.dev/v1alpha1) in the file"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "---\n---\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
        "apiVersion: parley.io/v1alpha1\nkind: ChatBot\nmetadata: {name: typo}\n",
    ],
    ids=["empty", "comment", "empty-documents", "configmap", "wrong-group"],
)
def test_a_file_without_chatbot_or_binding_is_refused(tmp_path: Path, text: str) -> None:
    assert refusal(write(tmp_path, text)) == NOTHING


def test_a_file_of_bindings_only_is_fine(tmp_path: Path) -> None:
    documents = loader.read_manifest(write(tmp_path, dump_yaml(binding_doc())))
    assert [doc["kind"] for _, doc in documents] == ["PlatformBinding"]


def test_load_manifests_reports_each_refused_file(tmp_path: Path) -> None:
    good = write(tmp_path, BOT, "good.yaml")
    empty = write(tmp_path, "", "empty.yaml")
    dup = write(tmp_path, "a: 1\na: 2\n", "dup.yaml")
    with pytest.raises(ConfigError) as info:
        loader.load_manifests([good, empty, dup])
    assert info.value.problems == [
        f"{empty}: {NOTHING}",
        f"{dup}: line 2: duplicate key 'a' (first on line 1)",
    ]


def test_the_loader_reads_the_same_values_as_safe_load(tmp_path: Path, events: str) -> None:
    text = Path("manifests/examples/multi-platform-canary.yaml").read_text(encoding="utf-8")
    expected = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    assert [doc for _, doc in loader.read_manifest(write(tmp_path, text))] == expected
