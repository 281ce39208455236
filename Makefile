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

# checkov (Kubernetes manifest checks) in a venv of its own: its pins clash with podium's
CHECKOV_VENV ?= .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
$(CHECKOV):
	@{ $(PY) -m venv $(CHECKOV_VENV) && $(CHECKOV_VENV)/bin/pip install -q checkov==3.3.30; } \
	  || echo "checkov could not be installed: tests/unit/serving/test_deploy.py::test_manifests_pass_checkov skips"

demo: install
	cd examples/quickstart && ../../$(BIN)/podium run pipeline.yaml
	cd examples/quickstart && ../../$(BIN)/podium predict churn@champion --input new_customers.csv --output scored.csv
	@head -n 4 examples/quickstart/scored.csv

test: install-test system-deps $(CHECKOV)
	$(BIN)/lint-imports
	$(BIN)/mypy src/podium
	PODIUM_TEST_CHECKOV="$$([ -x $(CHECKOV) ] && echo $(CHECKOV))" $(BIN)/pytest -q

bench: install
	$(BIN)/python bench/automl.py --budget 60

clean:
	rm -rf $(VENV) examples/quickstart/.podium
