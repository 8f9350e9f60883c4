"""`parley history BOT` and `parley rollback BOT [--to REVISION]`: the revisions a ChatBot's stable
track ran (its `status.history`, written by the operator) and a return to one of them.

`rollback` writes the revision's `version`, `persona`, `models` and `plugins` back into the spec
(removing `spec.canary`) in one JSON patch guarded by the object's resourceVersion, and sets the
annotation `parley.dev/rollback-to: "N"`, which tells the operator the spec returns to revision N on
purpose: it applies it at once, without canary steps, even over a promotion that still waits for git.
With GitOps, make the same change in git instead (a revert): the next sync would undo this one.

Both talk to the API like `kubectl` and `parley operator`: the service account in a pod, else the
kubeconfig (`KUBECONFIG`, else `~/.kube/config`); the namespace defaults to the context's. Errors
(no credentials, bot or revision not found, the API refusing) are one line and exit code 2. The
`kubernetes` client is imported only when one of them runs, so other commands start without it.
"""

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

GROUP, VERSION, PLURAL = "parley.dev", "v1alpha1", "chatbots"
ROLLBACK_ANNOTATION = "parley.dev/rollback-to"
CONFIG_FIELDS = ("persona", "models", "plugins")
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_EMPTY: dict[str, Any] = {"persona": {}, "plugins": []}


class CommandError(Exception):
    """One line for the user; exit code 2."""


def register(sub: Any) -> None:
    """Add `history` and `rollback` to the `parley` subcommands."""
    p = sub.add_parser("history", help="list the revisions a ChatBot's stable track ran")
    p.add_argument("bot", metavar="BOT")
    p.add_argument("-n", "--namespace", help="default: the kubeconfig context's namespace")
    p.set_defaults(handler=run_history)
    p = sub.add_parser("rollback", help="write a revision's version and config back into a ChatBot's spec")
    p.add_argument("bot", metavar="BOT")
    p.add_argument("--to", type=int, metavar="REVISION", help="default: the revision before the current one")
    p.add_argument("-n", "--namespace", help="default: the kubeconfig context's namespace")
    p.set_defaults(handler=run_rollback)


# --- pure: from the ChatBot as read to lines and patches -----------------------------------------


def revisions(bot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """`status.history`, oldest first (entries without a revision number are left out)."""
    found = (bot.get("status") or {}).get("history") or []
    usable = [r for r in found if isinstance(r, Mapping) and isinstance(r.get("revision"), int)]
    return sorted(usable, key=lambda r: int(r["revision"]))


def history_lines(bot: Mapping[str, Any]) -> list[str]:
    """A header and one line per revision; the last is the one the stable track runs."""
    entries = revisions(bot)
    rows = [("REVISION", "VERSION", "CONFIG", "PROMOTED", "CAUSE")]
    for i, r in enumerate(entries):
        current = "  (current)" if i == len(entries) - 1 else ""
        rows.append(
            (
                str(r["revision"]),
                str(r.get("version", "")),
                str(r.get("configHash", "")),
                str(r.get("promotedAt", "")),
                str(r.get("cause", "")) + current,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]


def choose(entries: Sequence[Mapping[str, Any]], to: int | None, name: str) -> Mapping[str, Any]:
    """The revision to return to: `to`, else the one before the current one."""
    kept = ", ".join(str(r["revision"]) for r in entries) or "none"
    if to is not None:
        for r in entries:
            if r["revision"] == to:
                return r
        raise CommandError(f"ChatBot {name} has no revision {to} (kept: {kept})")
    if len(entries) < 2:
        raise CommandError(f"ChatBot {name} has no earlier revision to roll back to (kept: {kept})")
    return entries[-2]


def rollback_patch(bot: Mapping[str, Any], revision: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The JSON patch that writes `revision` into the spec, drops the canary and marks the rollback;
    it applies only to the object as read (its resourceVersion is tested first)."""
    config = revision.get("config")
    if not isinstance(config, Mapping) or "models" not in config or not revision.get("version"):
        raise CommandError(f"revision {revision['revision']} does not record its config")
    meta = bot.get("metadata") or {}
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")},
        {"op": "replace", "path": "/spec/version", "value": str(revision["version"])},
    ]
    for name in CONFIG_FIELDS:
        ops.append({"op": "add", "path": f"/spec/{name}", "value": config.get(name, _EMPTY.get(name))})
    if "canary" in (bot.get("spec") or {}):
        ops.append({"op": "remove", "path": "/spec/canary"})
    mark = str(revision["revision"])
    if meta.get("annotations"):
        ops.append({"op": "add", "path": "/metadata/annotations/parley.dev~1rollback-to", "value": mark})
    else:
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {ROLLBACK_ANNOTATION: mark}})
    return ops


# --- the API ---------------------------------------------------------------------------------------


def _connect(namespace: str | None) -> tuple[Any, str]:
    """An API client and the namespace to use: in a pod its service account, else the kubeconfig."""
    import kubernetes

    config: Any = kubernetes.config  # partly typed: used through Any
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT / "token").exists():
        configuration = kubernetes.client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        default = (SERVICE_ACCOUNT / "namespace").read_text().strip() or "default"
        return kubernetes.client.ApiClient(configuration), namespace or default
    # Read here, not by the client at its import, so KUBECONFIG set by a caller counts.
    path = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or str(Path.home() / ".kube" / "config")
    if not Path(path).is_file():
        raise CommandError(f"no Kubernetes credentials: not in a cluster, and no kubeconfig at {path}")
    try:
        api = config.new_client_from_config(config_file=path)
        _, active = config.list_kube_config_contexts(config_file=path)
    except (config.ConfigException, OSError, ValueError) as e:
        raise CommandError(f"cannot read the kubeconfig {path}: {e}") from None
    default = ((active or {}).get("context") or {}).get("namespace") or "default"
    return api, namespace or default


def _api_error(e: Any, name: str) -> CommandError:
    if getattr(e, "status", None) == 404:
        return CommandError(f"ChatBot {name} not found")
    if getattr(e, "status", None) in (409, 422):
        return CommandError(f"ChatBot {name} changed while the rollback was written; run it again")
    reason = getattr(e, "reason", None) or type(e).__name__
    return CommandError(f"the Kubernetes API refused: {getattr(e, 'status', '')} {reason}".replace("  ", " "))


def _read(api: Any, namespace: str, bot: str) -> dict[str, Any]:
    import kubernetes
    import urllib3

    custom: Any = kubernetes.client.CustomObjectsApi(api)
    name = f"{namespace}/{bot}"
    try:
        found: dict[str, Any] = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, bot)
    except kubernetes.client.ApiException as e:
        raise _api_error(e, name) from None
    except urllib3.exceptions.HTTPError as e:
        raise CommandError(f"cannot reach the Kubernetes API: {type(e).__name__}") from None
    return found


def _patch(api: Any, namespace: str, bot: str, ops: list[dict[str, Any]]) -> None:
    import kubernetes
    import urllib3

    custom = kubernetes.client.CustomObjectsApi(api)
    try:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, bot, ops, _content_type="application/json-patch+json"
        )
    except kubernetes.client.ApiException as e:
        raise _api_error(e, f"{namespace}/{bot}") from None
    except urllib3.exceptions.HTTPError as e:
        raise CommandError(f"cannot reach the Kubernetes API: {type(e).__name__}") from None


def _fail(command: str, error: CommandError) -> int:
    print(f"parley {command}: {error}", file=sys.stderr)
    return 2


def run_history(args: argparse.Namespace) -> int:
    try:
        api, namespace = _connect(args.namespace)
        bot = _read(api, namespace, args.bot)
    except CommandError as e:
        return _fail("history", e)
    lines = history_lines(bot)
    if len(lines) == 1:
        print(f"ChatBot {namespace}/{args.bot} has no revisions yet (the operator records them)")
        return 0
    print("\n".join(lines))
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    name = f"{args.bot}"
    try:
        api, namespace = _connect(args.namespace)
        name = f"{namespace}/{args.bot}"
        bot = _read(api, namespace, args.bot)
        revision = choose(revisions(bot), args.to, name)
        _patch(api, namespace, args.bot, rollback_patch(bot, revision))
    except CommandError as e:
        return _fail("rollback", e)
    dropped = ", spec.canary removed" if "canary" in (bot.get("spec") or {}) else ""
    print(
        f"ChatBot {name}: spec set to revision {revision['revision']} "
        f"(version {revision['version']}, config {revision.get('configHash', '?')}){dropped}; "
        "the operator applies it without canary steps"
    )
    return 0
