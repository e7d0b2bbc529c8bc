"""`digitpad export`: a model others can run (ONNX or torch.export's .pt2)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digitpad.cli.common import EXIT_FAILED, EXIT_USAGE, load_model_or_exit


def register(sub) -> None:
    x = sub.add_parser("export", help="write a model others can run: ONNX (or torch.export's .pt2)")
    x.add_argument("--model", type=Path, help="checkpoint (default: the shipped MNIST CNN)")
    x.add_argument("--format", default="onnx", choices=["onnx", "pt2"])
    x.add_argument("--out", type=Path, help="file to write (default: the checkpoint's name with .onnx / .pt2)")
    x.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from digitpad.core.export import SUFFIXES, ExportError, export_model

    trained = load_model_or_exit(args.model)
    if trained is None:
        return EXIT_USAGE
    out = args.out or Path(f"{trained.name}{SUFFIXES[args.format]}")
    try:
        path = export_model(trained, args.format, out)
    except ExportError as exc:
        print(f"digitpad export: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"digitpad export: cannot write {out}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {path}: input 'pixels' float32 N×1×28×28 in [0, 1] (ink bright), output 'logits' N×10; "
          f"{trained.meta.dataset}, normalization inside")
    return 0
