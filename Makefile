# RBM Studio — every set-up step lives here so a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_PKG := $(VENV)/.installed-package
# What an install builds: the package metadata and the built-in synth's C extension (setup.py).
BUILD_INPUTS := pyproject.toml setup.py $(wildcard native/*.c native/tsf/*)
export QT_QPA_PLATFORM_TEST := offscreen

.PHONY: run test test-fast test-quick lint bench package package-test install-desktop clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): $(BUILD_INPUTS) | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): $(BUILD_INPUTS) | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

## Open the app on the bundled sample songs.
run: $(STAMP_RUN)
	$(VENV)/bin/rbm-studio --folder rbm_studio/resources/sample_midi

## Check the import contracts, then run the whole test suite (headless).
test: $(STAMP_DEV)
	$(VENV)/bin/lint-imports --no-cache
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

## Everything but the slow and packaging tests.
test-fast: $(STAMP_DEV)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow and not package"

## The music, model and studio tests alone: no Qt window, nothing slow.
test-quick: $(STAMP_DEV)
	$(PY) -m pytest -q -m "not gui and not slow"

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check rbm_studio tests tools
	$(VENV)/bin/ruff format --check rbm_studio tests tools
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP_DEV)
	$(VENV)/bin/rbm-studio bench import rbm_studio/resources/sample_midi
	$(VENV)/bin/rbm-studio bench train
	$(VENV)/bin/rbm-studio bench playback

$(STAMP_PKG): $(BUILD_INPUTS) | $(PY)
	$(PY) -m pip install --quiet -e '.[package]'
	touch $@ $(STAMP_RUN)

## Build the one-folder app dist/rbm-studio/ with PyInstaller (rbm_studio.spec), from scratch.
package: $(STAMP_PKG)
	rm -rf build/rbm_studio dist/rbm-studio "dist/RBM Studio.app"
	$(PY) -m PyInstaller --noconfirm --clean --log-level WARN rbm_studio.spec
	@du -sh dist/rbm-studio

## Run the frozen app's CLI and --self-test offscreen; fails on any error (needs `make package`).
## Then a plain `pip install .` into a fresh venv must render audio (tests/test_package_pip_install.py).
package-test: $(STAMP_DEV)
	$(PY) tools/package_test.py dist/rbm-studio
	RBM_STUDIO_PIP_INSTALL_TEST=1 $(PY) -m pytest -q -m package tests/test_package_pip_install.py

## Put RBM Studio in your applications menu (the built bundle if present, else the venv's).
install-desktop:
	$(PYTHON) tools/install_desktop.py

clean:
	rm -rf build dist .pytest_cache .ruff_cache tests/artifacts
