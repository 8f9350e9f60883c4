# Two commands on a fresh machine: `make run` and `make test`. Both build their own venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE ?= manifests/examples/quickstart.yaml

.PHONY: run test lint unit bench clean crds install-manifests

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/parley serve -f $(EXAMPLE) --port 8080

lint: $(BIN)/.installed
	$(BIN)/ruff check runtime operator tests bench
	$(BIN)/ruff format --check runtime operator
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m parley_operator.crdgen crds --check
	$(BIN)/python -m parley_operator.installgen --check

# Bytecode is cached even where the environment turns it off (PYTHONDONTWRITEBYTECODE=1): every `parley`
# process a test starts, and every xdist worker's collection, would otherwise compile the sources anew.
# It is compiled once up front, so that the workers of a fresh clone do not each compile it at once.
test: export PYTHONDONTWRITEBYTECODE =

# Four workers on two cores: most tests wait on sockets and subprocesses. `loadfile` keeps a module's
# tests (and its module-scoped servers) on one worker.
test: lint
	$(BIN)/python -m compileall -q -j 0 runtime operator tests/fakes
	$(BIN)/pytest -q -n 4 --dist loadfile

unit: $(BIN)/.installed
	$(BIN)/pytest -q tests/unit

crds: $(BIN)/.installed
	$(BIN)/python -m parley_operator.crdgen crds

install-manifests: crds
	$(BIN)/python -m parley_operator.installgen

bench: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/router.py --quick
	$(BIN)/python bench/serve.py --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
