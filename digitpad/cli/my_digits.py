"""`digitpad my-digits export DIR --writer NAME --out FILE.zip`: a personal set as one file for the class."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, destination


def register(sub) -> None:
    m = sub.add_parser("my-digits", help="your personal set of digits (the app's My digits tab)")
    actions = m.add_subparsers(dest="action", required=True)
    e = actions.add_parser("export", help="write the set as one .zip for the teacher's class set")
    e.add_argument("folder", type=Path, metavar="DIR", help="the personal set (DIR/<digit>/<name>.json or .png)")
    e.add_argument("--writer", required=True, metavar="NAME", help="your name or a pseudonym (1 to 64 characters)")
    e.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
    e.add_argument("--json", action="store_true", help="one JSON line: {\"file\", \"writer\", \"samples\", \"skipped\"}")
    e.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from digitpad.core.class_set import check_writer_name, export_personal_set
    from digitpad.core.personal_set import PersonalSetError

    try:
        check_writer_name(args.writer)
    except ValueError as exc:
        print(f"digitpad my-digits export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    dest = destination("my-digits export", args.out)
    if dest is None:
        return EXIT_USAGE
    try:
        summary = export_personal_set(args.folder, args.writer, args.out)
    except (PersonalSetError, OSError) as exc:
        print(f"digitpad my-digits export: {exc}", file=sys.stderr)
        return EXIT_FAILED
    dest.say_created()
    for line in summary.skipped:
        print(f"digitpad my-digits export: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_json(), ensure_ascii=False))
    else:
        print(f"wrote {summary.path}: {summary.samples} samples by {summary.writer}")
    return 0
