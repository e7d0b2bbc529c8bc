"""DigitPad: watch a neural network learn to read digits, then draw one for it."""

__version__ = "0.1.0"
