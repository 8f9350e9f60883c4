"""`python -m parley_operator.crdgen DIR [--check]`: write (or compare) the CRDs generated from the models."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from parley_operator.schema import crd


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in crd.render_all().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(directory: Path) -> list[str]:
    """Names of CRD files in `directory` that are missing or differ from the models."""
    out = []
    for name, text in crd.render_all().items():
        path = directory / name
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            out.append(name)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parley_operator.crdgen", description=__doc__)
    parser.add_argument("directory", type=Path, help="where the CRD YAML files live (crds/)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.directory)
        for name in names:
            print(f"{args.directory / name}: out of date; run `make crds`", file=sys.stderr)
        return 1 if names else 0
    try:
        for path in write(args.directory):
            print(f"wrote {path}")
    except OSError as exc:
        print(f"crdgen: cannot write to {args.directory}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
