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
# Two pytest workers (pytest-xdist): on CI's 2 cores the suite took 13 min in one process, 7.5 in two
# (every test has its own temporary folder, PostgreSQL schema and sandbox port). PYTEST_ARGS= runs it in one.
PYTEST_ARGS ?= -n 2
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/bench_scoring.py --contacts 100000 --activities 1000000

clean:
	rm -rf $(VENV) .pytest_cache connector.db demo.db
