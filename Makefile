# The two front-door commands: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS ?= 1

.PHONY: demo test install install-test system-deps lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e ".[all]"

install-test: $(BIN)/python
	$(BIN)/pip install -q -e ".[all,test]"

# Debian packages the integration tests start (PostgreSQL 15 ships with the machine);
# podman, buildah, runc and debootstrap build and run the deploy image offline (tests/integration/serving/test_image.py).
IMAGE_TOOLS := podman buildah runc debootstrap
system-deps:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: sudo apt-get install redis-server"; fi; }
	@missing="$$(for t in $(IMAGE_TOOLS); do command -v $$t >/dev/null || [ -x /usr/sbin/$$t ] || echo $$t; done)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing: sudo apt-get install $$missing (the image test skips without them)"; fi; fi

demo: install
	cd examples/quickstart && ../../$(BIN)/podium run pipeline.yaml
	cd examples/quickstart && ../../$(BIN)/podium predict churn@champion --input new_customers.csv --output scored.csv
	@head -n 4 examples/quickstart/scored.csv

test: install-test system-deps
	$(BIN)/lint-imports
	$(BIN)/mypy src/podium
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/automl.py --budget 60

clean:
	rm -rf $(VENV) examples/quickstart/.podium
