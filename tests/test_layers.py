"""The core engine must stay usable without Qt: nothing under digitpad/core imports it."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "digitpad" / "core"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_core_module_imports_qt():
    offenders = {p.name: m for p in CORE.glob("*.py") for m in imported_modules(p)
                 if m.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "digitpad"}
                 and (m.startswith("digitpad.gui") or not m.startswith("digitpad"))}
    assert offenders == {}


def test_importing_the_whole_core_loads_no_qt():
    code = ("import sys, importlib, pkgutil, digitpad.core as c\n"
            "[importlib.import_module('digitpad.core.' + m.name) for m in pkgutil.iter_modules(c.__path__)]\n"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'digitpad.gui'))]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
