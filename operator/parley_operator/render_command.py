"""`parley render -f FILE... [--namespace NS] [--image REPO]`: the operator's objects as YAML, offline.

Objects of every ChatBot in the files, sorted by kind, then namespace, then name; keys in a fixed
order; multi-line strings as literal blocks so `bot.yaml` stays readable in a GitOps diff. Plugin
config is checked against each plugin's schema where the plugin is installed (`validation.plugins`).
"""

import argparse
import sys
from typing import Any

from parley_operator.render import RenderError, render_bot, yamltext
from parley_operator.validation.plugins import plugin_findings
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.loader import load_manifests


def render_files(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every object for every ChatBot in the files; raises ConfigError or RenderError on bad input."""
    manifests = load_manifests(args.files)
    objects: list[dict[str, Any]] = []
    for loaded in manifests.bots:
        bot = loaded.obj
        namespace = bot.metadata.namespace or args.namespace
        bindings = [
            b.obj
            for b in manifests.bindings_for(bot.name)
            if (b.obj.metadata.namespace or args.namespace) == namespace
        ]
        try:
            objects += render_bot(bot, bindings, namespace=namespace, image=args.image)
        except RenderError as exc:
            raise RenderError(f"{loaded.source}: ChatBot/{bot.name}: {exc}") from None
    return sorted(objects, key=lambda o: (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]))


def dump(objects: list[dict[str, Any]]) -> str:
    return yamltext.dump_all(objects)


def run(args: argparse.Namespace) -> int:
    try:
        objects = render_files(args)
        plugin_errors, notes = plugin_findings(load_manifests(args.files).bots)
    except ConfigError as exc:
        print(f"parley render: {exc.one_line()}", file=sys.stderr)
        return 2
    except RenderError as exc:
        print(f"parley render: {exc}", file=sys.stderr)
        return 2
    for note in notes:  # stderr: stdout stays YAML for `kubectl apply -f -`
        print(f"parley render: note: {note.line()}", file=sys.stderr)
    if plugin_errors:
        for problem in plugin_errors:
            print(f"parley render: {problem.line()}", file=sys.stderr)
        return 2
    sys.stdout.write(dump(objects))
    return 0
