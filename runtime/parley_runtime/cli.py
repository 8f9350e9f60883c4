"""The `parley` command. Operator subcommands (render, validate, operator) plug in through the
`parley.commands` entry-point group, so the runtime never imports the operator."""

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import NoReturn

from parley_runtime import history_command, plugins_command
from parley_runtime.config.errors import ConfigError

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # `main` prints the one `parley: error: ` prefix; a subcommand's parser adds only its name
        command = self.prog.partition(" ")[2]
        raise UsageError(f"{command}: {message}" if command else message)


def _add_runtime_args(p: argparse.ArgumentParser, *, with_port: bool = True) -> None:
    p.add_argument(
        "-f",
        "--file",
        dest="files",
        action="extend",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="ChatBot manifest (multi-document YAML); several may follow",
    )
    p.add_argument("--bot", help="which ChatBot to run when the files hold several")
    p.add_argument(
        "--secrets-dir", type=Path, help="folder with <secret-name>/<key> files (env PARLEY_SECRETS_DIR)"
    )
    p.add_argument("--data-dir", type=Path, help="where embedded state lives (env PARLEY_DATA_DIR)")
    p.add_argument("--plugins-dir", type=Path, help="folder of plugin modules (hot-reloaded)")
    if with_port:
        p.add_argument("--port", type=int, help="HTTP port (default 8080)")
        p.add_argument("--host", help="bind address (default 0.0.0.0)")


def _run_role(role: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        from parley_runtime.app import server

        code: int = server.run(role, args)
        return code

    return handler


def _track(args: argparse.Namespace) -> int:
    from parley_runtime.core.tracks import track_for

    if not 0 <= args.weight <= 100:
        raise UsageError("track: --weight must be between 0 and 100")
    print(track_for(args.bot, args.platform, args.user, args.weight))
    return 0


def _providers(args: argparse.Namespace) -> int:
    from parley_runtime.config import presets

    rows = [(p.name, p.family, p.base_url or "-") for _, p in sorted(presets.PRESETS.items())]
    name_width = max(len(name) for name, _, _ in rows)
    family_width = max(len(family) for _, family, _ in rows)
    for name, family, url in rows:
        print(f"{name:<{name_width}}  {family:<{family_width}}  {url}")
    return 0


def _dlq(args: argparse.Namespace) -> int:
    from parley_runtime.app import dlq_command

    code: int = dlq_command.run(args)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="parley", description="Run LLM chatbots on every chat platform.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    for role, text in (
        ("serve", "all-in-one: gateway + engine + in-process queue + SQLite sessions"),
        ("gateway", "cluster role: platform webhooks and long connections → Redis queue"),
        ("engine", "cluster role: Redis queue → pipeline → platform send APIs"),
    ):
        p = sub.add_parser(role, help=text, description=text)
        _add_runtime_args(p)
        if role == "engine":
            p.add_argument("--track", choices=["stable", "canary"], help="which queue to consume")
        p.set_defaults(handler=_run_role(role))

    p = sub.add_parser("track", help="print canary or stable for a user at a weight")
    p.add_argument("--bot", required=True)
    p.add_argument("--platform", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--weight", required=True, type=float)
    p.set_defaults(handler=_track)

    p = sub.add_parser("providers", help="list the provider presets: name, family, default base URL")
    p.set_defaults(handler=_providers)

    plugins_command.register(sub)
    history_command.register(sub)

    p = sub.add_parser("dlq", help="inspect and replay dead-lettered outbound messages")
    dsub = p.add_subparsers(dest="dlq_command", required=True, parser_class=_Parser)
    for name, text in (("list", "list dead-lettered messages"), ("replay", "re-enqueue them for sending")):
        dp = dsub.add_parser(name, help=text)
        _add_runtime_args(dp, with_port=False)
        dp.add_argument("--redis-url", help="Redis URL (env PARLEY_REDIS_URL); default: the embedded store")
        if name == "replay":
            dp.add_argument("ids", nargs="*", help="entry ids to replay (default: all)")
        else:
            dp.add_argument("--limit", type=int, default=100)
    p.set_defaults(handler=_dlq)

    for ep in entry_points(group="parley.commands"):
        register: Callable[[argparse._SubParsersAction], None] = ep.load()  # type: ignore[type-arg]
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except (UsageError, ConfigError) as exc:
        line = exc.one_line() if isinstance(exc, ConfigError) else str(exc)
        print(f"parley: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
