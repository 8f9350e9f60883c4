"""What `parley operator` hands to kopf: handlers in its own registry (nothing registered at
import), settings that keep state under parley.dev, and a clear refusal without credentials."""

import argparse
import logging
from pathlib import Path

import kopf

from parley_operator import runner


def args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(namespace=None, metrics_port=0, liveness="", **kw)


def handler_ids(registry: kopf.OperatorRegistry) -> set[str]:
    subs = (
        registry._changing,
        registry._watching,
        registry._spawning,
        registry._indexing,
        registry._activities,
    )
    return {str(h.id) for sub in subs for h in sub.get_all_handlers()}


def test_build_registers_into_a_fresh_registry() -> None:
    registry, _settings, ctx = runner.build(args())
    assert registry is not kopf.get_default_registry()
    ids = handler_ids(registry)
    assert {"reconcile", "resync", "bind", "unbind", "parley_bindings", "drift-deployments"} <= ids
    assert "drift-horizontalpodautoscalers" in ids
    assert ctx.timer_interval == runner.RESYNC_SECONDS
    # A second build does not see the first one's handlers twice (no global state).
    again, _, _ = runner.build(args())
    assert handler_ids(again) == ids


def test_settings() -> None:
    settings = runner.configure(kopf.OperatorSettings())
    assert settings.persistence.finalizer == "parley.dev/finalizer"
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    assert settings.watching.server_timeout and settings.watching.client_timeout
    assert settings.watching.client_timeout > settings.watching.server_timeout
    assert settings.posting.level == logging.WARNING


def test_no_credentials_is_one_line(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)}
    problem = runner.credentials_problem(env)
    assert problem is not None and "missing" in problem and "\n" not in problem
    (tmp_path / "config").write_text("apiVersion: v1\n")
    assert runner.credentials_problem({"KUBECONFIG": str(tmp_path / "config")}) is None
