# Two commands do all setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo lint test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/connector demo

lint: install
	$(BIN)/ruff check connector tests bench mappings
	$(BIN)/mypy

# pytest exits 5 when it collected no test; make treats any non-zero exit as failure.
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/bench_scoring.py --contacts 100000 --activities 1000000

clean:
	rm -rf $(VENV) .pytest_cache connector.db demo.db
