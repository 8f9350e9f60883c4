"""Config canaries and revisions end to end against KMock (SPEC §13), on a fake clock the test moves:
a prompt-only canary runs its own ConfigMap and is promoted, `parley rollback` returns the spec and the
stable ConfigMap to the previous prompt, inconclusive analysis holds, a git revert to an earlier
revision is applied without steps, and `parley history` lists the revisions.

`parley history` and `parley rollback` run as the installed command in a subprocess, with the
KUBECONFIG of the emulator (set by the `env` fixture), as a person would run them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from fakes.http_api import serve
from fakes.kmock_harness import Cluster, binding, chatbot, wait_for
from fakes.telegram_api import FakeTelegram
from integration.operator.canary_harness import (
    FakeClock,
    InProcessOperator,
    analysed,
    annotations,
    at,
    bot_yaml,
    canary_status,
    config_map,
    engines,
    history,
    image,
)

_SCRIPT = Path(sys.executable).with_name("parley")
PARLEY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "parley_runtime.cli"]
ANALYSIS = {"interval": "1m", "minSamples": 10, "maxErrorRate": 0.05, "maxP99Seconds": 8}
V1 = "You answer in one sentence. (v1)"
V2 = "You answer in three sentences. (v2)"


def parley(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PARLEY, *args], capture_output=True, text=True, timeout=60)


def prompt(body: dict[str, Any] | None) -> str | None:
    return ((((body or {}).get("spec") or {}).get("persona")) or {}).get("systemPrompt")


def deployment_config(cluster: Cluster, name: str) -> tuple[str | None, str | None]:
    """(the ConfigMap a Deployment mounts as its config, its config checksum annotation)."""
    dep = cluster.deployment(name)
    if dep is None:
        return None, None
    template = dep["spec"]["template"]
    volume = next(v for v in template["spec"]["volumes"] if v["name"] == "config")
    return volume["configMap"]["name"], template["metadata"]["annotations"]["parley.dev/config-checksum"]


def causes(cluster: Cluster, bot: str) -> list[tuple[int, str]]:
    return [(r["revision"], r["cause"]) for r in history(cluster, bot)]


def test_a_prompt_only_canary_runs_its_own_config_is_promoted_and_rolled_back(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, _ = env
    with engines(cluster, "prompter") as (canary_engine, stable_engine):
        cluster.create("chatbots", chatbot("prompter", persona={"systemPrompt": V1}))
        wait_for(lambda: causes(cluster, "prompter") == [(1, "spec")], "revision 1")
        assert V1 in (bot_yaml(cluster, "prompter-config") or "")

        # The canary changes the prompt only: same version, its own ConfigMap with the new prompt.
        steps = [{"setWeight": 20}, {"pause": {"duration": "2m"}}]
        canary = {"persona": {"systemPrompt": V2}, "steps": steps, "analysis": ANALYSIS}
        cluster.patch("chatbots", "prompter", {"spec": {"canary": canary}})
        started = wait_for(lambda: at(cluster, "prompter", step=1, weight=20), "step 1 at 20%")
        assert started["version"] == "1.4.0" and len(started["overlayHash"]) == 10
        wait_for(lambda: V2 in (bot_yaml(cluster, "prompter-canary-config") or ""), "the canary's config")
        assert V1 not in (bot_yaml(cluster, "prompter-canary-config") or "")
        stable_config = bot_yaml(cluster, "prompter-config") or ""
        assert V1 in stable_config and V2 not in stable_config
        canary_mount, canary_sum = deployment_config(cluster, "prompter-canary")
        stable_mount, stable_sum = deployment_config(cluster, "prompter")
        assert (canary_mount, stable_mount) == ("prompter-canary-config", "prompter-config")
        assert canary_sum != stable_sum
        assert image(cluster, "prompter-canary") == image(cluster, "prompter")  # same version

        # Two passing windows (both tracks over minSamples), the pause ends: promoted.
        for _ in range(2):
            canary_engine.handled(30)
            stable_engine.handled(300)
            clock.advance(61)
            wait_for(lambda: analysed(cluster, "prompter", verdict="Pass", since=clock.now()), "a pass")
        done = wait_for(lambda: at(cluster, "prompter", phase="Promoted"), "Promoted")
        assert done["analysis"]["canary"]["messages"] == 30 and done["analysis"]["stable"]["messages"] == 300
        assert done["overlay"] == {"persona": {"systemPrompt": V2}}
        wait_for(lambda: V2 in (bot_yaml(cluster, "prompter-config") or ""), "the stable config has v2")
        wait_for(
            lambda: config_map(cluster, "prompter-canary-config") is None, "the canary ConfigMap removed"
        )
        wait_for(lambda: cluster.deployment("prompter-canary") is None, "the canary Deployment removed")
        first, (second, promoted) = causes(cluster, "prompter")
        assert first == (1, "spec") and second == 2
        assert promoted == f"canary {done['overlayHash']} promoted (analysis passed)"
        assert prompt(cluster.get("chatbots", "prompter")) == V1  # git still says v1: the promotion holds

        # `parley history` (namespace from the kubeconfig context) lists both, the last is current.
        listed = parley("history", "prompter")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[0].split()[:3] == ["REVISION", "VERSION", "CONFIG"] and len(lines) == 3
        assert lines[1].split()[0] == "1" and lines[2].split()[0] == "2" and lines[2].endswith("(current)")

        # `parley rollback` (default: the previous revision) writes revision 1 back into the spec.
        rolled = parley("rollback", "prompter", "-n", "bots")
        assert rolled.returncode == 0, rolled.stderr
        assert "spec set to revision 1" in rolled.stdout and "spec.canary removed" in rolled.stdout
        body = cluster.get("chatbots", "prompter") or {}
        assert prompt(body) == V1 and "canary" not in body["spec"]
        wait_for(lambda: V1 in (bot_yaml(cluster, "prompter-config") or ""), "the stable config back at v1")
        assert V2 not in (bot_yaml(cluster, "prompter-config") or "")
        wait_for(lambda: causes(cluster, "prompter")[-1] == (3, "rollback to revision 1"), "revision 3")
        wait_for(lambda: "parley.dev/rollback-to" not in annotations(cluster, "prompter"), "the mark removed")
        assert canary_status(cluster, "prompter") == {}

        # Errors are one line and exit code 2.
        missing = parley("rollback", "prompter", "--to", "9")
        assert (missing.returncode, missing.stdout) == (2, "")
        assert missing.stderr == "parley rollback: ChatBot bots/prompter has no revision 9 (kept: 1, 2, 3)\n"
        nobody = parley("history", "nobody")
        assert (nobody.returncode, nobody.stderr) == (2, "parley history: ChatBot bots/nobody not found\n")


def test_inconclusive_analysis_holds_the_step_and_never_promotes(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, _ = env
    with engines(cluster, "quiet") as (canary_engine, stable_engine):
        steps = [{"setWeight": 10}, {"pause": {"duration": "2m"}}]
        canary = {"models": {"routes": [_route("qwen-plus")]}, "steps": steps, "analysis": ANALYSIS}
        cluster.create("chatbots", chatbot("quiet", canary=canary))
        wait_for(lambda: at(cluster, "quiet", step=1, weight=10), "step 1 at 10%")
        assert "qwen-plus" in (bot_yaml(cluster, "quiet-canary-config") or "")
        assert "qwen-plus" not in (bot_yaml(cluster, "quiet-config") or "")

        for _ in range(4):  # well past the pause, with too few canary messages in every window
            canary_engine.handled(3)
            stable_engine.handled(300)
            clock.advance(61)
            wait_for(lambda: analysed(cluster, "quiet", since=clock.now()), "the window")
        held = wait_for(lambda: at(cluster, "quiet", phase="Inconclusive", step=1, weight=10), "Inconclusive")
        figures = held["analysis"]
        assert figures["verdict"] == "Inconclusive"
        assert figures["message"] == "3 canary messages, fewer than minSamples 10"
        assert (figures["canary"]["messages"], figures["stable"]["messages"]) == (3, 300)
        reconciling = cluster.condition("chatbots", "quiet", "Reconciling") or {}
        assert (reconciling.get("status"), reconciling.get("reason")) == ("True", "CanaryInconclusive")
        assert cluster.deployment("quiet-canary") is not None
        assert [r["revision"] for r in history(cluster, "quiet")] == [1]  # nothing promoted


def _route(model: str) -> dict[str, Any]:
    return {
        "name": "main",
        "provider": "openai-compatible",
        "baseURL": "https://dashscope.aliyuncs.com/compatible-mode/v1",
        "model": model,
        "apiKey": {"secretKeyRef": {"name": "llm", "key": "deepseek"}},
    }


def test_a_return_to_an_earlier_revision_is_applied_without_steps(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    cluster, _ = env
    cluster.create("chatbots", chatbot("reverter", persona={"systemPrompt": V1}))
    wait_for(lambda: causes(cluster, "reverter") == [(1, "spec")], "revision 1")

    # A direct change (no canary) is a revision of its own; going back to v1 in git is a revert.
    cluster.patch("chatbots", "reverter", {"spec": {"persona": {"systemPrompt": V2}}})
    wait_for(lambda: causes(cluster, "reverter") == [(1, "spec"), (2, "spec")], "revision 2")
    cluster.patch("chatbots", "reverter", {"spec": {"persona": {"systemPrompt": V1}}})
    wait_for(lambda: causes(cluster, "reverter")[-1] == (3, "revert to revision 1"), "revision 3")
    wait_for(lambda: V1 in (bot_yaml(cluster, "reverter-config") or ""), "v1 again")

    # A canary whose release is revision 2 again: promoted at once, no steps, no canary objects.
    steps = [{"setWeight": 10}, {"pause": {}}]
    canary = {"persona": {"systemPrompt": V2}, "steps": steps, "analysis": ANALYSIS}
    cluster.patch("chatbots", "reverter", {"spec": {"canary": canary}})
    done = wait_for(lambda: at(cluster, "reverter", phase="Promoted"), "promoted without steps")
    assert done["message"] == "revision 2 again: promoted without steps" and done["weight"] == 0
    wait_for(lambda: V2 in (bot_yaml(cluster, "reverter-config") or ""), "v2 on the stable track")
    assert cluster.deployment("reverter-canary") is None
    assert config_map(cluster, "reverter-canary-config") is None
    # The last three are kept: 2, 3 and the revert, 4.
    assert causes(cluster, "reverter") == [
        (2, "spec"),
        (3, "revert to revision 1"),
        (4, "revert to revision 2"),
    ]

    listed = parley("history", "reverter", "-n", "bots")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["REVISION", "2", "3", "4"]
    assert "revert to revision 2  (current)" in listed.stdout


def events_of(cluster: Cluster, bot: str, reason: str) -> list[str]:
    events = cluster.core.list_namespaced_event(cluster.ns).items
    return [e.message for e in events if e.involved_object.name == bot and e.reason == reason]


def test_decisions_are_told_to_the_chat_of_the_bots_own_binding(
    env: tuple[Cluster, InProcessOperator], clock: FakeClock
) -> None:
    """`spec.canary.notify`: the promotion and the rollback after it reach the Telegram chat through
    the bot's binding (its token read from the binding's Secret); a binding that is not the bot's is a
    Warning Event, and the release goes on."""
    cluster, _ = env
    telegram = FakeTelegram(token="4242:notify-token")
    with (
        serve(telegram.api.app) as api_base,
        engines(cluster, "announcer") as (canary_engine, stable_engine),
    ):
        cluster.secret("tg-announcer", {"botToken": telegram.token})
        tg = binding("announcer-tg", "announcer", "telegram", "tg-announcer")
        tg["spec"]["settings"] = {"apiBase": api_base}
        cluster.create("platformbindings", tg)
        cluster.create("chatbots", chatbot("announcer", persona={"systemPrompt": V1}))
        wait_for(lambda: causes(cluster, "announcer") == [(1, "spec")], "revision 1")

        notify = {"bindingRef": {"name": "announcer-tg"}, "chatId": "-1001234"}
        steps = [{"setWeight": 20}, {"pause": {"duration": "2m"}}]
        canary = {"persona": {"systemPrompt": V2}, "steps": steps, "analysis": ANALYSIS, "notify": notify}
        cluster.patch("chatbots", "announcer", {"spec": {"canary": canary}})
        wait_for(lambda: at(cluster, "announcer", step=1, weight=20), "step 1 at 20%")
        for _ in range(2):
            canary_engine.handled(30)
            stable_engine.handled(300)
            clock.advance(61)
            wait_for(lambda: analysed(cluster, "announcer", verdict="Pass", since=clock.now()), "a pass")
        wait_for(lambda: at(cluster, "announcer", phase="Promoted"), "Promoted")
        (promoted,) = wait_for(lambda: telegram.sent() or None, "the promotion told")
        assert promoted["chat_id"] == "-1001234"
        assert promoted["text"].startswith("[announcer] Promoted: promoted persona ")
        assert promoted["text"].endswith(" after 2 steps") and telegram.token not in promoted["text"]

        # `parley rollback` removes spec.canary; the rollback is still told (the record kept the chat).
        assert parley("rollback", "announcer").returncode == 0
        told = wait_for(lambda: telegram.sent()[1:] or None, "the rollback told")
        assert [m["chat_id"] for m in told] == ["-1001234"]
        assert told[0]["text"].startswith("[announcer] Rollback: promotion of ")

        # Told through a binding of another bot: a Warning Event, and the canary still starts.
        wrong = {**notify, "bindingRef": {"name": "someone-elses"}}
        canary = {
            "persona": {"systemPrompt": V2 + " (v3)"},
            "steps": steps,
            "analysis": ANALYSIS,
            "notify": wrong,
        }
        cluster.patch("chatbots", "announcer", {"spec": {"canary": canary}})
        wait_for(lambda: at(cluster, "announcer", step=1, weight=20), "the second canary at 20%")
        for _ in range(4):  # too few canary messages: held, which is told — and cannot be
            canary_engine.handled(2)
            stable_engine.handled(300)
            clock.advance(61)
            wait_for(lambda: analysed(cluster, "announcer", since=clock.now()), "the window")
        wait_for(lambda: at(cluster, "announcer", phase="Inconclusive"), "Inconclusive")
        (failed,) = wait_for(lambda: events_of(cluster, "announcer", "NotifyFailed") or None, "NotifyFailed")
        assert failed == "PlatformBinding someone-elses is not a ready binding of this bot"
        assert len(telegram.sent()) == 2
