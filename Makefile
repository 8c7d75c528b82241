# Every target creates .venv on first use and installs the project into it,
# so a fresh machine with only Python 3.11+ can run `make run` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The fleet service on an embedded SQLite file, seeded afresh with the demo city
# (a week of readings posted through the ingest endpoint); prints address and logins.
run: $(STAMP)
	$(BIN)/cityfleet demo run --fresh --db build/demo/cityfleet.db --host 127.0.0.1 --port 8080

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
