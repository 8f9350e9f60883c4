"""`parley plugins list [-f FILE]` and `parley plugins template NAME`: what can go in `spec.plugins`.

`list` shows every plugin this Python can load — built-in, installed packages, the plugins folder and,
with `-f`, the packages a manifest pins once `parley serve` has installed them — with its description
and config fields. `template` prints a `plugins:` block with the config defaults, ready to paste.
The plugin layer is imported only when a command runs, as the other commands do, so `parley --help`
stays cheap.
"""

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley_runtime.config.errors import ConfigError

if TYPE_CHECKING:
    from parley_runtime.plugins.catalog import Entry


def register(sub: Any) -> None:
    """Add `plugins list|template` to the `parley` subcommands."""
    p = sub.add_parser("plugins", help="list the plugins that can be enabled, or print a config block")
    psub = p.add_subparsers(dest="plugins_command", required=True, parser_class=type(p))
    for name, text in (
        ("list", "installed plugins: name, origin, description, config fields"),
        ("template", "a spec.plugins entry for NAME with its config defaults, as YAML"),
    ):
        pp = psub.add_parser(name, help=text, description=text)
        if name == "template":
            pp.add_argument("name", metavar="NAME")
        pp.add_argument(
            "-f",
            "--file",
            dest="files",
            action="extend",
            nargs="+",
            type=Path,
            default=[],
            metavar="FILE",
            help="also the packages these manifests pin (installed by an earlier `parley serve`)",
        )
        pp.add_argument("--plugins-dir", type=Path, help="folder of plugin modules")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from parley_runtime.config.loader import load_manifests
    from parley_runtime.plugins import catalog, discovery, packages

    bots = load_manifests(args.files).bots if args.files else ()
    catalog.use_manifest_caches((b.obj, b.source) for b in bots)
    pinned = {s.name: s.package or "" for b in bots for s in packages.wanted(b.obj.spec.plugins)}
    if args.plugins_command == "template":
        source = discovery.available(args.plugins_dir).get(args.name)
        if source is None:
            hint = " (run `parley serve` once to install it)" if args.name in pinned else ""
            raise ConfigError([f"plugins template: plugin {args.name!r} is not installed here{hint}"])
        entry = catalog.entry(source)
        if entry.plugin is None:
            raise ConfigError([f"plugins template: plugin {args.name!r} cannot be loaded: {entry.problem}"])
        print(catalog.template(entry, pinned.get(args.name)), end="")
        return 0
    found = catalog.entries(args.plugins_dir)
    names = {e.name for e in found}
    for line in listing(found, {n: p for n, p in pinned.items() if n not in names}):
        print(line)
    return 0


def listing(found: Sequence["Entry"], missing: Mapping[str, str]) -> list[str]:
    """One line per plugin, then one per config field; pinned packages not installed come last."""
    width = max([len(e.name) for e in found] + [len(n) for n in missing] + [4])
    origin_width = max([len(e.origin) for e in found] + [6])
    lines = []
    for e in found:
        head = f"{e.name:<{width}}  {e.origin:<{origin_width}}"
        if e.plugin is None:
            lines.append(f"{head}  cannot be loaded: {e.problem}")
            continue
        lines.append(f"{head}  {e.plugin.description}".rstrip())
        fields = e.fields
        if not fields:
            lines.append("    config: none")
        for f in fields:
            default = "required" if f.required else f"default {json.dumps(f.default, ensure_ascii=False)}"
            text = f"    {f.key} ({f.type}, {default})"
            lines.append(f"{text}  {f.description}" if f.description else text)
    for name, package in sorted(missing.items()):
        lines.append(f"{name:<{width}}  {package}  not installed (`parley serve -f FILE` installs it)")
    return lines
