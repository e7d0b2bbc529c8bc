"""`digitpad exercise check FILE…`: is this exercise file usable, and if not, everything that is wrong."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from digitpad.cli.common import EXIT_FAILED


def register(sub) -> None:
    e = sub.add_parser("exercise", help="predict-then-reveal exercise files (.digitpad-exercise)")
    actions = e.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate exercise files and say what is wrong, one line per problem")
    check.add_argument("files", type=Path, nargs="+", metavar="FILE")
    check.add_argument("--json", action="store_true",
                       help="one JSON line per file: {\"file\", \"ok\", \"exercises\", \"problems\"}")
    check.set_defaults(run=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when every file is usable, 1 otherwise; checkpoints named in the files are opened too."""
    from digitpad.core.exercises import ExerciseError, read_sheet

    failed = False
    for path in args.files:
        try:
            sheet = read_sheet(path, deep=True)
        except ExerciseError as exc:
            failed = True
            if args.json:
                print(json.dumps({"file": str(path), "ok": False, "exercises": 0, "problems": exc.problems}))
            else:
                print(str(exc))
            continue
        if args.json:
            print(json.dumps({"file": str(path), "ok": True, "exercises": len(sheet.exercises), "problems": []}))
        else:
            print(f"{path}: ok — \"{sheet.title}\", {len(sheet.exercises)} exercise(s)")
            for number, ex in enumerate(sheet.exercises, start=1):
                print(f"  {number}. {ex.title} ({ex.spec.title}; answer: {ex.answer.type}, {ex.answer.measure})")
    return EXIT_FAILED if failed else 0
