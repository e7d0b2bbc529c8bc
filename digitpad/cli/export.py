"""`digitpad export`: a model others can run (ONNX or torch.export's .pt2)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digitpad.core import names
from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, destination, load_model_or_exit, model_path, save_or_rescue

FORMATS = names.EXPORT_SUFFIXES


def register(sub) -> None:
    x = sub.add_parser("export", help="write a model others can run: ONNX (or torch.export's .pt2)")
    x.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    x.add_argument("--format", choices=list(FORMATS),
                   help="onnx or pt2 (default: what --out's name says, else onnx)")
    x.add_argument("--out", type=Path, help="file to write (default: the checkpoint's name with .onnx / .pt2)")
    x.set_defaults(run=cmd_export)


def export_format(args: argparse.Namespace) -> str | None:
    """The format asked for, by --format or by --out's suffix; None (after saying why) when they disagree,
    or when --out names another kind of file (`--out m.pt` would look like a checkpoint and is not one)."""
    named = next((fmt for fmt, suffix in FORMATS.items() if args.out and args.out.suffix.lower() == suffix), None)
    fmt = args.format or named or "onnx"
    if args.out is not None and named != fmt:
        print(f"digitpad export: --out {args.out}: an export to {fmt} is named *{FORMATS[fmt]}; "
              f"name it {args.out.with_suffix(FORMATS[fmt])}", file=sys.stderr)
        return None
    return fmt


def cmd_export(args: argparse.Namespace) -> int:
    fmt = export_format(args)
    if fmt is None:
        return EXIT_USAGE
    source = model_path(args.model)
    out = args.out or Path(f"{source.stem}{FORMATS[fmt]}")
    dest = destination("export", out, inputs=[source])
    if dest is None:
        return EXIT_USAGE
    trained = load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    from digitpad.core.export import ExportError, export_model

    try:
        path, status = save_or_rescue(dest, lambda target: export_model(trained, fmt, target),
                                      what=f"the {fmt} export")
    except ExportError as exc:
        print(f"digitpad export: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if status == 0:
        print(f"wrote {path}: input 'pixels' float32 N×1×28×28 in [0, 1] (ink bright), output 'logits' N×10; "
              f"{trained.meta.dataset}, normalization inside")
    return status
