# kechuang — the two commands a newcomer runs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 3

.PHONY: run test bootstrap serve demo migrate static lint clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

bootstrap: $(STAMP)

migrate: bootstrap
	@mkdir -p var
	$(BIN)/kechuang migrate --no-input

static: bootstrap
	$(BIN)/kechuang collectstatic --no-input --verbosity 0

demo: migrate
	$(BIN)/kechuang demo --if-empty

run: demo static
	@echo ""
	@echo "  kechuang is serving on http://$(HOST):$(PORT)/"
	@echo "  API: http://$(HOST):$(PORT)/api/v1/   docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "  demo login: demo / kechuang-demo (bureau staff; admin at /admin/)"
	@echo ""
	$(BIN)/gunicorn kechuang.wsgi:application --bind $(HOST):$(PORT) --workers $(WORKERS) \
	    --access-logfile - --error-logfile -

test: bootstrap
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: bootstrap
	$(BIN)/ruff check kechuang tests benchmarks

clean:
	rm -rf $(VENV) var staticfiles
