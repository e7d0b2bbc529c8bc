import sys

try:
    from digitpad.cli import main
except KeyboardInterrupt:  # Ctrl+C before the command has even started: one line, as everywhere else
    print("\ninterrupted", file=sys.stderr)
    raise SystemExit(130) from None

if __name__ == "__main__":  # a spawned child (the saliency process) imports this module too
    raise SystemExit(main())
