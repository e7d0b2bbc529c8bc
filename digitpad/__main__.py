from digitpad.cli import main

if __name__ == "__main__":  # a spawned child (the saliency process) imports this module too
    raise SystemExit(main())
