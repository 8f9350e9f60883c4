"""`parley validate -f FILE...`: exit 0 and `ok: N objects in M files`, or 2 and one line per problem.

Notes (`note: ...` on stderr) say what could not be checked here, such as the config of a plugin
that is not installed; they do not change the exit code.
"""

import argparse
import sys

from parley_operator.validation.files import validate_files


def run(args: argparse.Namespace) -> int:
    report = validate_files(list(args.files))
    for note in report.notes:
        print(f"note: {note.line()}", file=sys.stderr)
    if report.problems:
        for problem in report.problems:
            print(problem.line(), file=sys.stderr)
        return 2
    objects = f"{report.objects} object{'' if report.objects == 1 else 's'}"
    files = f"{report.files} file{'' if report.files == 1 else 's'}"
    print(f"ok: {objects} in {files}")
    return 0
