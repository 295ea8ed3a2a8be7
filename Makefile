# neo4j_azure.aks — one entry point for setup, the local run, tests and benchmarks.
#   make local   install everything, start the local test environment, run playbooks/site.yml on it
#   make test    install everything, run sanity, lint, unit and integration tests (what CI runs)
#   make bicep   lint the Bicep, compile main.json beside main.bicep, rewrite the per-environment snapshots
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COLLECTION_LINK := .collections/ansible_collections/neo4j_azure/aks
BUILD_ROOT := .build/ansible_collections/neo4j_azure/aks
TESTENV := $(BIN)/python tests/testenv/testenv.py
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# The real Bicep CLI, found as the tests find it (BICEP_BIN, ../shared/tools/bicep, PATH): tests/testenv/bicep_cli.py.
BICEP ?= $(shell $(PYTHON) tests/testenv/bicep_cli.py 2>/dev/null)
BICEP_SRC := roles/infra/files/bicep
export PATH := $(CURDIR)/$(BIN):$(if $(BICEP),$(patsubst %/,%,$(dir $(BICEP))):)$(PATH)

.PHONY: help setup binaries testenv-up testenv-down testenv-status local test sanity lint unit integration harness \
        checkov changelog build bench clean bicep bicep-lint bicep-build bicep-snapshots

help:
	@sed -n 's/^#   //p' Makefile

# The venvs are built once per content in the cache outside the repository and linked here (tests/cached-venv.sh):
# a clean clone reuses them instead of reinstalling (minutes of pip per venv).
$(BIN)/.installed: requirements.txt requirements-test.txt tests/cached-venv.sh
	bash tests/cached-venv.sh test $(VENV) $(PYTHON) -r requirements-test.txt
	touch $@

# Checkov pins many libraries of its own: it gets a venv of its own so it never shifts the test venv.
$(VENV)-checkov/bin/checkov: tests/cached-venv.sh
	bash tests/cached-venv.sh checkov $(VENV)-checkov $(PYTHON) checkov==3.3.30

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

setup: $(BIN)/.installed $(VENV)-checkov/bin/checkov $(COLLECTION_LINK)
	@# The test environment's real node: containerd, runc, CNI plugins, debootstrap from apt (root). Without them
	@# the node is reported unavailable and the kwok-only tests still run.
	-bash tests/testenv/node/install-host-packages.sh

binaries:
	bash tests/testenv/build-binaries.sh

testenv-up: setup
	$(TESTENV) up

testenv-down:
	$(TESTENV) down

testenv-status:
	$(TESTENV) status

# The service principal as an AWX Azure credential injects it: kubelogin (the cluster's Entra ID login) reads it.
local: testenv-up
	set -a; . .testenv/env.sh; set +a; AZURE_CLIENT_ID=$$TESTENV_AZURE_CLIENT_ID \
	  AZURE_CLIENT_SECRET=$$TESTENV_AZURE_CLIENT_SECRET AZURE_TENANT_ID=$$TESTENV_AZURE_TENANT_ID \
	  $(BIN)/ansible-playbook playbooks/site.yml -i inventories/local

# ansible-test needs the collection under ansible_collections/<ns>/<name>: sanity runs on a copy.
# The copy is a git repository of its own: ansible-test lists files through git, and the outer checkout
# ignores .build/.
$(BUILD_ROOT): FORCE
	rm -rf $(BUILD_ROOT) && mkdir -p $(BUILD_ROOT)
	tar -c --exclude-from=tests/sanity-excludes.txt . | tar -x -C $(BUILD_ROOT)
	cd $(BUILD_ROOT) && git init -q && git add -A

sanity: setup $(BUILD_ROOT)
	bash tests/sanity-offline-pip.sh
	cd $(BUILD_ROOT) && $(CURDIR)/$(BIN)/ansible-test sanity --venv --python 3.11 --color no

lint: setup
	$(BIN)/ansible-lint --offline --profile production

# Checkov's Bicep parser predates user-defined types: it scans a copy with parameter types erased (resources,
# lines and skip comments unchanged; tests/testenv/checkov_bicep.py).
checkov: setup
	$(PYTHON) tests/testenv/checkov_bicep.py $(BICEP_SRC) .build/checkov-bicep
	$(VENV)-checkov/bin/checkov -d .build/checkov-bicep --framework bicep --skip-download --compact --quiet

# Bicep: no diagnostic allowed (bicepconfig.json). main.json is the compiler's output, committed for controllers
# without a CLI; the per-environment parameters, .bicepparam files and snapshots come from the infra role's own
# parameter composition (roles/infra/files/environments/compose.yml). Tests fail when any of them is stale.
bicep: bicep-lint bicep-build bicep-snapshots

bicep-lint:
	@test -n "$(BICEP)" || { $(PYTHON) tests/testenv/bicep_cli.py; exit 1; }
	for f in $$(find $(BICEP_SRC) -name '*.bicep' | sort); do out=$$($(BICEP) lint "$$f" 2>&1); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; done

bicep-build:
	@test -n "$(BICEP)" || { $(PYTHON) tests/testenv/bicep_cli.py; exit 1; }
	$(BICEP) build $(BICEP_SRC)/main.bicep --outfile $(BICEP_SRC)/main.json

bicep-snapshots: setup
	@test -n "$(BICEP)" || { $(PYTHON) tests/testenv/bicep_cli.py; exit 1; }
	for env in dev staging prod; do \
	  BICEP_BIN=$(BICEP) $(BIN)/ansible-playbook -i inventories/$$env roles/infra/files/environments/compose.yml; done

unit: setup
	$(BIN)/pytest tests/unit -q

integration: setup
	$(BIN)/pytest tests/integration -q

harness: setup
	$(BIN)/pytest tests/harness -q

# bench/setup.sh gives the benchmark's azure_rm_deployment its own venv, so the bench smoke test runs too.
test: setup
	$(MAKE) sanity
	$(MAKE) lint
	bash bench/setup.sh
	$(BIN)/pytest -q

changelog: setup
	$(BIN)/antsibull-changelog lint

build: setup
	$(BIN)/ansible-galaxy collection build --force --output-path .build/dist

bench: testenv-up
	bash bench/setup.sh
	$(BIN)/python bench/run.py

clean:
	-$(TESTENV) down
	rm -rf .build .collections tests/output .pytest_cache

FORCE:
