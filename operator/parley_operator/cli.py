"""`parley render`, `parley validate` and `parley operator`, registered through the
`parley.commands` entry points of the runtime's CLI."""

import argparse
from pathlib import Path
from typing import Any


def add_render_command(sub: Any) -> None:
    p = sub.add_parser("render", help="print the Kubernetes objects the operator would create")
    p.add_argument(
        "-f", "--file", dest="files", action="extend", nargs="+", type=Path, required=True, metavar="FILE"
    )
    p.add_argument("--namespace", default="default", help="namespace for objects without one")
    p.add_argument("--image", help="runtime image repository (default: the spec's or the built-in one)")
    p.set_defaults(handler=_render)


def add_validate_command(sub: Any) -> None:
    p = sub.add_parser("validate", help="check manifests against the CRD schema, CEL rules and references")
    p.add_argument(
        "-f", "--file", dest="files", action="extend", nargs="+", type=Path, required=True, metavar="FILE"
    )
    p.set_defaults(handler=_validate)


def add_operator_command(sub: Any) -> None:
    p = sub.add_parser("operator", help="run the kopf operator")
    p.add_argument("--namespace", action="append", help="watch only this namespace (repeatable)")
    p.add_argument("--metrics-port", type=int, default=8080)
    p.add_argument("--liveness", default="http://0.0.0.0:8081/healthz")
    p.add_argument("--peering", metavar="NAME", help="kopf peering object, for running several replicas")
    p.add_argument("--image", help="runtime image repository override for every ChatBot")
    p.add_argument("--resync-seconds", type=float, default=300.0, help="periodic full reconcile")
    p.set_defaults(handler=_operator)


def _render(args: argparse.Namespace) -> int:
    from parley_operator import render_command

    code: int = render_command.run(args)
    return code


def _validate(args: argparse.Namespace) -> int:
    from parley_operator import validate_command

    code: int = validate_command.run(args)
    return code


def _operator(args: argparse.Namespace) -> int:
    from parley_operator import runner

    code: int = runner.run(args)
    return code
