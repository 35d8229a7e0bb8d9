# Specimen RDM: `make run` starts everything, `make test` runs the whole suite. `make help` lists all.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTANCE := $(VENV)/var/instance
PACKAGES := site modules/specimens modules/annotations modules/mlmodels clients/uploader
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
ENV := source services/env.sh &&

.PHONY: help services services-stop services-status install assets setup run test token bench lint lock clean-test

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

services: ## Install (first time) and start PostgreSQL, Redis, RabbitMQ and OpenSearch; wait until they answer
	@bash services/services.sh start

services-stop: ## Stop the native services
	@bash services/services.sh stop

services-status: ## Show whether each service answers
	@bash services/services.sh status

GBIF_NAME_PARSER_VERSION := 0.4.0

$(BIN)/.installed: requirements.lock $(PYPROJECTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "install: Python packages into $(VENV) (first time: several minutes)"
	@$(BIN)/pip install -q --upgrade pip==26.3 setuptools wheel
	@$(BIN)/pip install -q -r requirements.lock
	@$(BIN)/pip install -q --no-deps $(addprefix -e ,$(PACKAGES))
	@# GBIF's name parser installs a top-level `nameparser` that would overwrite the human-name
	@# parser InvenioRDM needs: it gets a folder of its own (see gbif_name_parser.py).
	@$(BIN)/pip install -q --no-deps --upgrade --target $(VENV)/vendor/gbif-name-parser \
	  gbif-name-parser==$(GBIF_NAME_PARSER_VERSION)
	@echo "install: building the offline taxon name list (first time: about a minute)"
	@$(BIN)/python -c 'from specimen_rdm_specimens.taxon_names import taxon_index; taxon_index()'
	@touch $@

install: $(BIN)/.installed ## Create the venv from requirements.lock and link invenio.cfg, app_data and templates into the instance folder
	@# Every time (cheap): an instance folder made by an older checkout may lack a link.
	@mkdir -p $(INSTANCE)
	@ln -sfn $(CURDIR)/invenio.cfg $(INSTANCE)/invenio.cfg
	@ln -sfn $(CURDIR)/app_data $(INSTANCE)/app_data
	@ln -sfn $(CURDIR)/templates $(INSTANCE)/templates

ASSET_SOURCES := $(shell find assets static -type f 2>/dev/null) requirements.lock
$(INSTANCE)/static/dist/manifest.json: $(ASSET_SOURCES) | install
	@bash scripts/build-assets.sh

assets: $(INSTANCE)/static/dist/manifest.json ## Build the front end (rspack) once; rebuilt when assets/ or static/ change

setup: services install ## Create tables, indices, fixtures, file locations and the admin user (each step once)
	@bash scripts/setup-instance.sh

run: services install assets setup ## Start everything on http://127.0.0.1:5000 (web app, Celery worker + beat)
	@bash scripts/run.sh

test: services install assets ## Run the whole test suite against real services
	@bash scripts/test.sh

token: services install ## Print a personal access token for EMAIL (created if needed): make token EMAIL=a@b.org
	@test -n "$(EMAIL)" || { echo "usage: make token EMAIL=someone@example.org" >&2; exit 2; }
	@set -o pipefail; $(ENV) $(BIN)/invenio specimens token --email "$(EMAIL)" 2>/dev/null | tail -n 1

bench: services install assets ## Run the benchmarks in bench/ and print figures
	@bash scripts/bench.sh

lint: install ## ruff format --check and ruff check
	@$(BIN)/ruff format --check site modules clients tests bench
	@$(BIN)/ruff check site modules clients tests bench

lock: ## Rewrite requirements.lock from the current venv (after changing dependencies)
	@$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock
