# RBM Studio — every set-up step lives here so a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
export QT_QPA_PLATFORM_TEST := offscreen

.PHONY: run test test-fast lint bench package package-test install-desktop clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

## Open the app on the bundled sample songs.
run: $(STAMP_RUN)
	$(VENV)/bin/rbm-studio --folder resources/sample_midi

## Run the whole test suite (headless).
test: $(STAMP_DEV)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

## Everything but the slow and packaging tests.
test-fast: $(STAMP_DEV)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow and not package"

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check rbm_studio tests tools
	$(VENV)/bin/ruff format --check rbm_studio tests tools

bench: $(STAMP_DEV)
	$(VENV)/bin/rbm-studio bench import resources/sample_midi
	$(VENV)/bin/rbm-studio bench train
	$(VENV)/bin/rbm-studio bench playback

clean:
	rm -rf build dist .pytest_cache .ruff_cache tests/artifacts
