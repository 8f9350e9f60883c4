"""What the status of a ChatBot or PlatformBinding should say, and the patch that gets it there.

The condition of a ChatBot is decided by an ordered chain of checks, first match wins; each check
is one line below with its reason. Status is computed whole in memory and written once per
reconcile as a merge patch of only the keys that changed, so an unchanged status writes nothing.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from parley_operator import conditions
from parley_operator.conditions import READY, RECONCILING, STALLED, Condition
from parley_operator.observed import BindingView, BotView, Observed
from parley_operator.policies import canary as canary_policy
from parley_operator.policies import references

# render.plugin_packages.INIT_CONTAINER (render and policies do not import each other; a test compares).
PLUGIN_INIT_CONTAINER = "plugin-packages"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")

BOT_KEYS = (
    "observedGeneration",
    "conditions",
    "stableVersion",
    "replicas",
    "readyReplicas",
    "canary",
    "history",  # policies.revisions: written by the caller (decide), kept here when the spec is invalid
)
BINDING_KEYS = ("observedGeneration", "conditions", "webhookPath")

# (ready, reason, message) of one binding.
Readiness = tuple[bool, str, str]


def _kstatus(ready: bool, reason: str, message: str, *, stalled: bool, reconciling: bool) -> list[Condition]:
    return [
        Condition(READY, conditions.truth(ready), reason, message),
        Condition(
            RECONCILING,
            conditions.truth(reconciling),
            reason if reconciling else "Idle",
            message if reconciling else "",
        ),
        Condition(
            STALLED,
            conditions.truth(stalled),
            reason if stalled else "Progressing",
            message if stalled else "",
        ),
    ]


def bot_conditions(
    observed: Observed,
    *,
    apply_error: str | None = None,
    canary: canary_policy.Decision | None = None,
    ready: Sequence[Readiness] | None = None,
    problem: str | None = None,
) -> list[Condition]:
    """`ready`: each binding's readiness when the caller has it (else it is evaluated here); `problem`:
    why a spec that parses does not render."""
    bot = observed.bot
    # The spec does not parse or render: nothing was applied and nothing will be until the spec changes.
    if bot.bot is None or problem is not None:
        message = problem or bot.problem or "invalid spec"
        return _kstatus(False, "InvalidSpec", message, stalled=True, reconciling=False)
    # A route key, the Redis URL or the API token names a Secret or key that does not exist.
    problems = references.bot_problems(bot.bot, observed.secret_keys)
    if problems:
        return _kstatus(False, "SecretMissing", "; ".join(problems), stalled=True, reconciling=False)
    # The API refused a write: kopf retries, so the bot is still reconciling.
    if apply_error is not None:
        return _kstatus(False, "ApplyFailed", apply_error, stalled=False, reconciling=True)
    # pip could not install the plugin packages in an engine pod (a bad pin, an index that refuses):
    # that engine never starts, and retrying does not help until the spec or the index changes.
    failure = plugin_install_failure(observed.engine_pods)
    if failure is not None:
        return _kstatus(False, "PluginInstallFailed", failure, stalled=True, reconciling=False)
    # The gray release failed its analysis or was aborted: stable serves, the release needs a person.
    if canary is not None and canary.stalled is not None:
        return _kstatus(False, *canary.stalled, stalled=True, reconciling=False)
    # A binding of this bot is invalid or its credentials do not resolve.
    if ready is None:
        ready = [binding_ready(b, observed.secret_keys) for b in observed.bindings]
    broken = [b for b, (ok, _, _) in zip(observed.bindings, ready, strict=True) if not ok]
    if broken:
        names = ", ".join(b.name for b in broken)
        return _kstatus(False, "BindingInvalid", f"not ready: {names}", stalled=False, reconciling=False)
    # A gray release is walking its steps (or waits for parley.dev/promote): serving, not done.
    if canary is not None and canary.progressing is not None:
        return _kstatus(True, *canary.progressing, stalled=False, reconciling=True)
    return _kstatus(True, "Reconciled", "all objects applied", stalled=False, reconciling=False)


def plugin_install_failure(pods: Sequence[Mapping[str, Any]]) -> str | None:
    """Why an engine pod's plugin install failed, from its init container's last exit; None while
    every pod's install succeeded or is still running. Pods being deleted do not count."""
    for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name", ""))):
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        for container in (pod.get("status") or {}).get("initContainerStatuses") or ():
            if container.get("name") != PLUGIN_INIT_CONTAINER:
                continue
            state = container.get("state") or {}
            done = state.get("terminated") or {}
            if done and done.get("exitCode") == 0:
                continue
            last = done or (container.get("lastState") or {}).get("terminated") or {}
            code = last.get("exitCode")
            if code:
                reason = _pip_reason(str(last.get("message") or last.get("reason") or ""))
                return f"engine pod {meta.get('name')}: pip exited with {code}: {reason}"
    return None


def _pip_reason(log: str) -> str:
    """pip's last `ERROR:` line (or last line) from the termination message, without URLs: an
    index URL may carry a token, and status is readable by anyone who can read the ChatBot."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    reason = _URL.sub("<url>", (errors or lines or ["no output"])[-1])
    return reason if len(reason) <= 300 else reason[:297] + "..."


def binding_ready(view: BindingView, keys: references.SecretKeys) -> Readiness:
    """(ready, reason, message) of one binding of an existing bot."""
    if view.binding is None:
        return False, "InvalidSpec", view.problem or "invalid spec"
    check = references.check_binding(view.binding, keys)
    if not check.ok:
        return False, "SecretMissing", check.message()
    return True, "Bound", f"serving {webhook_path(view)}"


def webhook_path(view: BindingView) -> str | None:
    if view.binding is None:
        return None
    return f"/webhook/{view.binding.spec.platform}/{view.name}"


def _replicas(children: Mapping[Any, Mapping[str, Any] | None]) -> tuple[int | None, int | None]:
    """Summed from the Deployments' status; None while no controller has reported one."""
    reported = [
        obj["status"]
        for obj in children.values()
        if obj is not None and obj.get("kind") == "Deployment" and isinstance(obj.get("status"), Mapping)
    ]
    reported = [s for s in reported if "replicas" in s]
    if not reported:
        return None, None
    return sum(int(s.get("replicas") or 0) for s in reported), sum(
        int(s.get("readyReplicas") or 0) for s in reported
    )


def bot_status(
    observed: Observed,
    wanted: Sequence[Condition],
    *,
    now: str,
    canary: canary_policy.Decision | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    """`stableVersion` is what the stable track runs (the canary version after a promotion, until git
    catches up); `canary` is the gray release's record, everything needed to resume it. `problem`:
    why a spec that parses does not render (it keeps its last status like one that does not parse)."""
    view: BotView = observed.bot
    previous = view.status.get("conditions")
    status: dict[str, Any] = {
        "observedGeneration": view.generation,
        "conditions": conditions.merge(previous, wanted, now=now, generation=view.generation),
    }
    if view.bot is not None and problem is None:
        status["stableVersion"] = canary.stable_version if canary is not None else view.bot.spec.version
        if canary is not None and canary.record is not None:
            status["canary"] = canary.record.to_dict()
        replicas, ready = _replicas(observed.children)
        if replicas is not None:
            status["replicas"], status["readyReplicas"] = replicas, ready
    else:
        # An invalid spec keeps the last good version and replica counts; only conditions change.
        for key in ("stableVersion", "replicas", "readyReplicas", "canary", "history"):
            if key in view.status:
                status[key] = view.status[key]
    return status


def binding_status(view: BindingView, ready: bool, reason: str, message: str, *, now: str) -> dict[str, Any]:
    wanted = [Condition(READY, conditions.truth(ready), reason, message)]
    status: dict[str, Any] = {
        "observedGeneration": view.generation,
        "conditions": conditions.merge(
            view.status.get("conditions"), wanted, now=now, generation=view.generation
        ),
    }
    path = webhook_path(view)
    if path is not None:
        status["webhookPath"] = path
    return status


def status_patch(
    current: Mapping[str, Any], wanted: Mapping[str, Any], keys: Sequence[str]
) -> dict[str, Any] | None:
    """`{"status": {...changed keys...}}`, keys we own but no longer want set to None; None if no-op."""
    changes = {k: wanted.get(k) for k in keys if wanted.get(k) != current.get(k)}
    changes = {k: v for k, v in changes.items() if v is not None or k in current}
    return {"status": changes} if changes else None
