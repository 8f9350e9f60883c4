"""`parley operator`: assemble the registry, settings and context, then run kopf until a signal.

Clusterwide unless `--namespace` is given; peering off (a single replica with a Recreate strategy)
unless `--peering NAME` is given; watches time out on both sides so a dead connection is noticed;
kopf's progress lives in `parley.dev/*` annotations. Children are owned and garbage-collected
through ownerReferences; the only finalizer, `parley.dev/finalizer`, is the one kopf puts on
ChatBots because of the resync timer (to stop it before the object goes), released on delete.
"""

import argparse
import asyncio
import logging
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import kopf

from parley_operator import handlers
from parley_operator.metrics import OperatorMetrics

ANNOTATION_PREFIX = "parley.dev"
RESYNC_SECONDS = 300.0
WATCH_SERVER_TIMEOUT = 270.0
WATCH_CLIENT_TIMEOUT = 300.0


def configure(settings: kopf.OperatorSettings) -> kopf.OperatorSettings:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{ANNOTATION_PREFIX}/finalizer"
    settings.watching.server_timeout = WATCH_SERVER_TIMEOUT
    settings.watching.client_timeout = WATCH_CLIENT_TIMEOUT
    settings.watching.connect_timeout = 10.0
    settings.posting.enabled = True
    settings.posting.level = logging.WARNING  # handler chatter stays in logs; Events are explicit
    return settings


SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def credentials_problem(env: Mapping[str, str]) -> str | None:
    """Why kopf's login could not work, as one line; None when a service account or kubeconfig exists."""
    if SERVICE_ACCOUNT_TOKEN.exists():
        return None
    paths = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = paths or [str(Path(env.get("HOME", "~")).expanduser() / ".kube" / "config")]
    if any(Path(p).is_file() for p in paths):
        return None
    return f"no Kubernetes credentials: not in a cluster, and no kubeconfig at {', '.join(paths)}"


def build(
    args: argparse.Namespace,
) -> tuple[kopf.OperatorRegistry, kopf.OperatorSettings, handlers.OperatorContext]:
    metrics = OperatorMetrics()
    ctx = handlers.OperatorContext(
        metrics=metrics,
        image=getattr(args, "image", None),
        timer_interval=float(getattr(args, "resync_seconds", None) or RESYNC_SECONDS),
    )
    registry = kopf.OperatorRegistry()
    handlers.register(registry, ctx)
    return registry, configure(kopf.OperatorSettings()), ctx


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Blocks until SIGINT/SIGTERM (or `stop` is set, when embedded); 0 on a clean stop, 2 without
    credentials, 1 when a port cannot be bound."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    problem = credentials_problem(os.environ)
    if problem is not None:
        print(f"parley operator: {problem}", file=sys.stderr)
        return 2
    registry, settings, ctx = build(args)
    namespaces = list(args.namespace or [])
    peering = getattr(args, "peering", None)
    try:
        ctx.metrics.serve(int(args.metrics_port))
        asyncio.run(
            kopf.operator(
                registry=registry,
                settings=settings,
                clusterwide=not namespaces,
                namespaces=namespaces,
                standalone=peering is None,
                peering_name=peering,
                liveness_endpoint=args.liveness or None,
                stop_flag=stop,
            )
        )
    except OSError as e:
        print(f"parley operator: {e}", file=sys.stderr)
        return 1
    return 0
