"""DigitPad: watch a neural network learn to read digits, then draw one for it."""

import os

# Before anything imports torch: OpenMP threads that wait for work sleep instead of spinning. Spinning
# threads held the cores a teacher's browser or slides needed, and beside one busy program training
# ran 5-50x slower (bench/busy_load.py). OpenMP reads this once, when torch loads; a value the user
# set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
