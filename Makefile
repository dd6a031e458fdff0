# Two commands on a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT := .cache/demo

.PHONY: demo test bench lint samples clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (msecli needs Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,browser]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/msecli segment samples/h264-aac.mp4 -o $(DEMO_OUT)/h264-aac --force
	$(BIN)/msecli segment samples/vp9-opus.webm -o $(DEMO_OUT)/vp9-opus --force
	$(BIN)/msecli simulate $(DEMO_OUT)/h264-aac --bandwidth 600kbps --seek 8@4 --live --clock realtime

test: $(STAMP)
	$(BIN)/python -m tests.run_suite

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check msecli
	$(BIN)/mypy msecli

bench: $(STAMP)
	$(BIN)/python bench/run.py

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .hypothesis
