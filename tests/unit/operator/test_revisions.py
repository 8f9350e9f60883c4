"""`status.history`: appended when the stable release changes, the last three kept, a return to an
earlier revision recognised — and the `parley history` / `parley rollback` logic that reads it."""

from typing import Any

import pytest

from parley_operator.policies import revisions
from parley_operator.policies.revisions import Revision
from parley_operator.release import Release
from parley_runtime import history_command
from parley_runtime.history_command import CommandError

MODELS = {"routes": [{"name": "main", "provider": "echo", "model": "echo"}]}


def rel(prompt: str, version: str = "1.4.0") -> Release:
    return Release(version, {"persona": {"systemPrompt": prompt}, "models": MODELS, "plugins": []})


def at(minute: int) -> str:
    return f"2026-11-21T10:{minute:02d}:00Z"


def test_a_revision_is_appended_only_when_the_release_changes() -> None:
    h = revisions.record((), rel("a"), now=at(0))
    assert [(r.revision, r.cause, r.promoted_at) for r in h] == [(1, "spec", at(0))]
    assert revisions.record(h, rel("a"), now=at(1)) is h  # the same release: nothing to add
    h = revisions.record(h, rel("a", "1.5.0"), now=at(2), cause="canary abc promoted (analysis passed)")
    assert [(r.revision, r.version, r.cause) for r in h] == [
        (1, "1.4.0", "spec"),
        (2, "1.5.0", "canary abc promoted (analysis passed)"),
    ]
    assert h[1].config_hash == rel("a", "1.5.0").config_hash
    assert h[1].config == rel("a").config  # enough to write it back


def test_the_last_three_are_kept_and_numbering_goes_on() -> None:
    h: revisions.History = ()
    for i, prompt in enumerate("abcde"):
        h = revisions.record(h, rel(prompt), now=at(i))
    assert [r.revision for r in h] == [3, 4, 5]
    assert [r.config["persona"]["systemPrompt"] for r in h] == ["c", "d", "e"]


def test_a_return_to_an_earlier_revision_is_recognised() -> None:
    h: revisions.History = ()
    for i, prompt in enumerate("abc"):
        h = revisions.record(h, rel(prompt), now=at(i))
    found = revisions.earlier(h, rel("a"))
    assert found is not None and found.revision == 1
    assert revisions.earlier(h, rel("c")) is None  # the current one is no return
    assert revisions.earlier(h, rel("a", "9.9.9")) is None  # same config, other version
    assert revisions.earlier(h, rel("z")) is None
    h = revisions.record(h, rel("a"), now=at(5))
    assert [(r.revision, r.cause) for r in h] == [(2, "spec"), (3, "spec"), (4, "revert to revision 1")]


def test_history_survives_the_trip_through_status_and_ignores_junk() -> None:
    h = revisions.record(revisions.record((), rel("a"), now=at(0)), rel("b"), now=at(1))
    stored = revisions.to_status(h)
    assert stored[0] == {
        "revision": 1,
        "version": "1.4.0",
        "configHash": rel("a").config_hash,
        "promotedAt": at(0),
        "cause": "spec",
        "config": rel("a").config,
    }
    assert revisions.read(list(reversed(stored))) == h  # sorted by revision
    assert revisions.read([*stored, {"revision": "x"}, "text", {"revision": 3, "version": "1"}]) == h
    assert revisions.read("nonsense") == () and revisions.read(None) == ()


# --- parley history / parley rollback ---------------------------------------------------------------


def bot_with(history: revisions.History, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "helpdesk", "namespace": "bots", "resourceVersion": "42"},
        "spec": {"version": "1.4.0", "models": MODELS, **spec},
        "status": {"history": revisions.to_status(history)},
    }


def three() -> revisions.History:
    h: revisions.History = ()
    for i, prompt in enumerate("abc"):
        h = revisions.record(h, rel(prompt, f"1.{i}.0"), now=at(i), cause="spec" if i < 2 else "canary x")
    return h


def test_history_prints_one_line_per_revision_the_last_current() -> None:
    lines = history_command.history_lines(bot_with(three()))
    assert len(lines) == 4
    assert lines[0].split() == ["REVISION", "VERSION", "CONFIG", "PROMOTED", "CAUSE"]
    assert lines[1].split()[:2] == ["1", "1.0.0"] and lines[1].split()[3] == at(0)
    assert lines[3].endswith("canary x  (current)")
    assert [line.split() for line in history_command.history_lines(bot_with(()))] == [lines[0].split()]


def test_rollback_chooses_the_previous_revision_or_the_one_asked() -> None:
    entries = history_command.revisions(bot_with(three()))
    assert history_command.choose(entries, None, "bots/helpdesk")["revision"] == 2
    assert history_command.choose(entries, 1, "bots/helpdesk")["version"] == "1.0.0"
    with pytest.raises(CommandError, match=r"^ChatBot bots/helpdesk has no revision 7 \(kept: 1, 2, 3\)$"):
        history_command.choose(entries, 7, "bots/helpdesk")
    with pytest.raises(CommandError, match="no earlier revision to roll back to"):
        history_command.choose(entries[:1], None, "bots/helpdesk")


def test_the_rollback_patch_writes_the_revision_drops_the_canary_and_marks_it() -> None:
    revision = history_command.revisions(bot_with(three()))[0]
    bot = bot_with(three(), persona={"systemPrompt": "c", "language": "en"}, canary={"version": "2"})
    ops = history_command.rollback_patch(bot, revision)
    assert ops == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "42"},
        {"op": "replace", "path": "/spec/version", "value": "1.0.0"},
        {"op": "add", "path": "/spec/persona", "value": {"systemPrompt": "a"}},  # whole: no language
        {"op": "add", "path": "/spec/models", "value": MODELS},
        {"op": "add", "path": "/spec/plugins", "value": []},
        {"op": "remove", "path": "/spec/canary"},
        {"op": "add", "path": "/metadata/annotations", "value": {"parley.dev/rollback-to": "1"}},
    ]
    bot["metadata"]["annotations"] = {"team": "support"}
    del bot["spec"]["canary"]
    ops = history_command.rollback_patch(bot, revision)
    assert ops[-1] == {"op": "add", "path": "/metadata/annotations/parley.dev~1rollback-to", "value": "1"}
    assert not [op for op in ops if op["op"] == "remove"]


def test_a_revision_without_its_config_cannot_be_rolled_back_to() -> None:
    entry = {"revision": 1, "version": "1.0.0", "configHash": "x"}
    with pytest.raises(CommandError, match="revision 1 does not record its config"):
        history_command.rollback_patch(bot_with(()), entry)


def test_revision_from_dict_needs_its_keys() -> None:
    assert Revision.from_dict({"revision": 0, "version": "1", "configHash": "h", "config": MODELS}) is None
    assert Revision.from_dict({"revision": 1, "version": "1", "configHash": "h", "config": {}}) is None
