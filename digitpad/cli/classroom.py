"""`digitpad class import | report | remove`: the class's digits, pooled from their exports."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitpad.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, load_model_or_exit, percent


def register(sub) -> None:
    c = sub.add_parser("class", help="pool the class's digits: import exports, report a model on them")
    actions = c.add_subparsers(dest="action", required=True)
    i = actions.add_parser("import", help="import My digits exports (.zip) into a class folder, one sub-folder "
                                          "per writer; bad files are named, the good ones kept")
    i.add_argument("inputs", type=Path, nargs="+", metavar="FILE_OR_DIR", help="exports, or folders of them")
    i.add_argument("--into", type=Path, required=True, metavar="CLASS_DIR", help="the class folder")
    i.add_argument("--json", action="store_true", help="one JSON line per export: "
                   "{\"file\", \"writer\", \"imported\", \"skipped\", \"errors\", \"notes\"}")
    i.set_defaults(run=cmd_import)
    r = actions.add_parser("report", help="a model on the class set: accuracy per writer and per digit, confusion")
    r.add_argument("class_dir", type=Path, metavar="CLASS_DIR")
    r.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    r.add_argument("--leave-one-out", action="store_true",
                   help="also fine-tune on everyone but each writer and test on that writer (minutes)")
    r.add_argument("--steps", type=int, default=30, help="fine-tuning steps per writer with --leave-one-out")
    r.add_argument("--json", action="store_true", help="one JSON object: "
                   "{\"writers\": {name: {\"accuracy\", \"samples\"}}, \"accuracy\", \"confusion\", …}")
    r.set_defaults(run=cmd_report)
    d = actions.add_parser("remove", help="take a writer and their samples out of the class set")
    d.add_argument("class_dir", type=Path, metavar="CLASS_DIR")
    d.add_argument("writer")
    d.set_defaults(run=cmd_remove)


def cmd_import(args: argparse.Namespace) -> int:
    """Exit 0 when at least one export was imported (its new samples added, or all already there), else 1."""
    from digitpad.core.class_set import ClassSetError, import_exports

    accepted = 0
    try:
        for ev in import_exports(args.inputs, args.into):
            report = ev.report
            accepted += report.accepted
            if args.json:
                print(json.dumps(report.as_json(), ensure_ascii=False), flush=True)
                continue
            head = (f"{report.writer}: {report.imported} imported, {report.skipped} already there"
                    if report.accepted else "refused")
            print(f"[{ev.done}/{ev.total}] {report.file}: {head}", flush=True)
            for line in report.errors:
                print(f"    error: {line}")
            for line in report.notes:
                print(f"    note: {line}")
    except ClassSetError as exc:
        print(f"digitpad class import: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0 if accepted else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    from digitpad.core.class_set import ClassSetError, class_report, load_class_set

    model = load_model_or_exit(args.model)
    if model is None:
        return EXIT_USAGE
    try:
        class_set = load_class_set(args.class_dir)
        report = class_report(model, class_set)
    except ClassSetError as exc:
        print(f"digitpad class report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for line in class_set.skipped:
        print(f"digitpad class report: {line}", file=sys.stderr)
    data = report.as_json()
    lowo = None
    if args.leave_one_out:
        lowo = _leave_one_out(model, class_set, args.steps)
        if lowo is None:
            return EXIT_INTERRUPTED
        if isinstance(lowo, str):
            print(f"digitpad class report: {lowo}", file=sys.stderr)
            return EXIT_FAILED
        data["leave_one_writer_out"] = lowo.as_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    _print_report(report, lowo)
    return 0


def _leave_one_out(model, class_set, steps: int):
    """The finished run, a failure message, or None when interrupted; a progress bar on stderr."""
    from tqdm import tqdm

    from digitpad.core.class_set import LowoConfig, LowoFinished, LowoProgress, leave_one_writer_out
    from digitpad.core.events import Failed

    events = leave_one_writer_out(model, class_set, LowoConfig(steps=steps, fit_all=False))
    bar = tqdm(total=len(class_set.writers), unit="writer", file=sys.stderr, leave=False)
    try:
        for ev in events:
            if isinstance(ev, LowoProgress):
                bar.n = round(ev.done, 2)
                bar.set_postfix_str(ev.writer[:20])
                bar.refresh()
            elif isinstance(ev, Failed):
                return ev.message
            elif isinstance(ev, LowoFinished):
                return ev
    except KeyboardInterrupt:
        events.close()
        print("\ninterrupted: leave-one-writer-out stopped", file=sys.stderr)
        return None
    finally:
        bar.close()
    return None


def _print_report(report, lowo) -> None:
    r = report.report
    print(f"{report.model} on the class set: {r.n:,} samples from {len(report.writers)} writers, "
          f"accuracy {r.accuracy:.2%}")
    after = {w.writer: w for w in lowo.results} if lowo else {}
    print(f"  {'writer':<24} {'samples':>7} {'accuracy':>9}" + ("  left out: before → after" if lowo else ""))
    for w in report.writers:
        extra = f"  {percent(after[w.name].before)} → {percent(after[w.name].after)}" if w.name in after else ""
        print(f"  {w.name:<24} {w.samples:>7} {percent(w.accuracy):>9}{extra}")
    if lowo:
        print(f"leave-one-writer-out, mean over writers: {percent(lowo.mean_before)} → {percent(lowo.mean_after)}")
    print("per digit: " + "  ".join(f"{d}: {percent(a)}" for d, a in enumerate(report.per_digit)))
    print("hardest writers: " + ", ".join(f"{w.name} ({percent(w.accuracy)})" for w in report.hardest_writers()))
    print("hardest digits: " + ", ".join(str(d) for d in report.hardest_digits()))
    print("confusion matrix (rows: true, columns: predicted):")
    print("     " + "".join(f"{i:>6}" for i in range(10)))
    for i, row in enumerate(r.confusion):
        print(f"  {i:>2} " + "".join(f"{v:>6}" for v in row))


def cmd_remove(args: argparse.Namespace) -> int:
    from digitpad.core.class_set import ClassSetError, remove_writer

    try:
        folder = remove_writer(args.class_dir, args.writer)
    except ClassSetError as exc:
        print(f"digitpad class remove: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"removed {args.writer!r} ({folder}) and all their samples")
    return 0
