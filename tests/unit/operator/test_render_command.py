"""`parley render` in-process through the real CLI: output, determinism, exit codes."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from parley_runtime.cli import main
from unit.operator.operator_factories import CANARY, binding_doc, chatbot_doc

EXAMPLES = Path(__file__).parents[3] / "manifests" / "examples"


def _render(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["render", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, name: str, *docs: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return str(path)


def test_renders_every_bot_in_every_file_sorted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _render(
        capsys,
        "-f",
        str(EXAMPLES / "multi-platform-canary.yaml"),
        "-f",
        str(EXAMPLES / "telegram-fallback.yaml"),
    )
    # The example's `weather` is a folder plugin, not installed here: a note on stderr, stdout unharmed.
    assert code == 0
    assert err.splitlines() == [
        f"parley render: note: {EXAMPLES / 'multi-platform-canary.yaml'}: ChatBot/team-bot: spec.plugins[0]: "
        "config not checked: plugin 'weather' is not installed here (a folder plugin?)"
    ]
    objects = list(yaml.safe_load_all(out))
    keys = [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects]
    assert keys == sorted(keys)
    names = {(k, n) for k, _, n in keys}
    assert ("Deployment", "team-bot-canary") in names
    assert ("Deployment", "tg-assistant") in names
    assert ("Deployment", "tg-assistant-canary") not in names
    namespaces = {ns for _, ns, name in keys if name.startswith("tg-assistant")}
    assert namespaces == {"default"}
    assert {ns for _, ns, name in keys if name.startswith("team-bot")} == {"bots"}


def test_output_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["-f", str(EXAMPLES / "multi-platform-canary.yaml"), "-f", str(EXAMPLES / "feishu-helpdesk.yaml")]
    first = _render(capsys, *args)
    second = _render(capsys, *args)
    assert first == second
    assert first[0] == 0 and first[1].startswith("---\napiVersion:")


def test_namespace_and_image_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "bot.yaml", chatbot_doc(), binding_doc())
    code, out, _ = _render(capsys, "-f", path, "--namespace", "chat", "--image", "mirror.local/parley")
    assert code == 0
    objects = list(yaml.safe_load_all(out))
    assert {o["metadata"]["namespace"] for o in objects} == {"chat"}
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "helpdesk")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.local/parley:1.4.0"


def test_bot_yaml_is_a_readable_block(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "bot.yaml", chatbot_doc(persona={"systemPrompt": "Line one.\nLine two.\n"}))
    code, out, _ = _render(capsys, "-f", path)
    assert code == 0
    assert "  bot.yaml: |\n" in out
    assert "systemPrompt: |\n" in out


def test_no_secret_values_and_no_internal_token(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _render(capsys, "-f", str(EXAMPLES / "feishu-helpdesk.yaml"))
    assert code == 0
    assert "REPLACE-ME" not in out  # the example's placeholder Secret values never reach the output
    secret = next(o for o in yaml.safe_load_all(out) if o["kind"] == "Secret")
    assert secret["metadata"]["name"] == "helpdesk-internal"
    assert "data" not in secret and "stringData" not in secret


def test_canary_in_file_renders_canary_objects(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "bot.yaml", chatbot_doc(canary=CANARY))
    code, out, _ = _render(capsys, "-f", path)
    assert code == 0
    names = {o["metadata"]["name"] for o in yaml.safe_load_all(out) if o["kind"] == "Deployment"}
    assert names == {"helpdesk", "helpdesk-gateway", "helpdesk-canary"}


def test_bad_manifest_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", chatbot_doc(scaling={"minReplicas": 20}), chatbot_doc("b", colour=1))
    code, out, err = _render(capsys, "-f", path)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"parley render: {path}: ChatBot/helpdesk: spec.scaling")
    assert "more problem" in err


def test_bad_image_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "bot.yaml", chatbot_doc())
    code, out, err = _render(capsys, "-f", path, "--image", "ghcr.io/x/parley:latest")
    assert (code, out) == (2, "")
    expected = "must be an image repository without tag or digest"
    assert err == f"parley render: {path}: ChatBot/helpdesk: --image: 'ghcr.io/x/parley:latest' {expected}\n"


@pytest.mark.parametrize("content", [b"a: [\n", b"\xff\xfe"])
def test_bad_files_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(content)
    code, out, err = _render(capsys, "-f", str(path))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and str(path) in err


def test_missing_file_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _render(capsys)
    assert code == 2
    assert err.startswith("parley: error:") and len(err.splitlines()) == 1
