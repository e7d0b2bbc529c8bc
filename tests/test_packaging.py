"""The shipped models and exercises live in the top-level assets/ and still come with an installed wheel."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_the_shipped_models_and_the_installed_package_finds_them(tmp_path):
    src = tmp_path / "src"  # a clean copy, so that building leaves no build/ in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("digitpad", "assets"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("digitpad-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "digitpad").rglob("*.py") if "__pycache__" not in p.parts)
    assert [m for m in modules if m not in names] == []  # every module of every package folder is in the wheel
    shipped = sorted(p.name for p in (ROOT / "assets" / "models").glob("*.pt"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("digitpad/assets/models/")) == shipped
    exercises = sorted(p.name for p in (ROOT / "assets" / "exercises").glob("*.digitpad-exercise"))
    assert exercises and sorted(n.rsplit("/", 1)[1] for n in names
                                if n.startswith("digitpad/assets/exercises/")) == exercises

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    found = subprocess.run(
        [sys.executable, "-c", "from digitpad.core.checkpoints import shipped_models, load_checkpoint; "
                               "from digitpad.core.exercises import read_sheet, shipped_exercises; "
                               "[read_sheet(p) for p in shipped_exercises()]; "
                               "print('\\n'.join(str(p) for p in shipped_models())); load_checkpoint(shipped_models()[0])"],
        cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=120, check=True).stdout.split()
    assert [Path(p).name for p in found][0] == "mnist-cnn.pt"
    assert sorted(Path(p).name for p in found) == shipped
    assert all(Path(p).is_relative_to(site) for p in found)  # from the installed package, not this checkout
