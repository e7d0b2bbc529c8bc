"""The PySide6 app: widgets and signals on top of digitpad.core."""
