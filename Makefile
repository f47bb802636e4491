# The README's commands. Everything installs itself on first use: a fresh clone needs only Python 3.11+ and make.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
PORT ?= 3000
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS := .tools
# pip's notes about optional local indexes are noise, not errors (pip's own failure still fails the pipe).
QUIET_PIP := { grep -v '^WARNING: Location' || true; }
# pip's output condensed to a few progress lines (the whole log stays in .venv/install.log).
INSTALL_PROGRESS := awk '/^Collecting /{n++; last=$$2; if (n % 20 == 0) {printf "  %3d packages found (%s ...)\n", n, last; fflush()}} \
  /^Building wheel/{print "  building " $$4; fflush()} \
  /^Installing collected packages/{printf "  %d packages found; installing them...\n", n; fflush()} \
  /^Successfully installed/{print "  installed."; fflush()}'
# The SAM CLI release `make lint`, `make build` and `make deploy` were tested with.
SAM_CLI_VERSION := 1.170.0
SAM := $(TOOLS)/sam/bin/sam
SAM_STAMP := $(TOOLS)/sam/.installed-$(SAM_CLI_VERSION)
# The bench's stand-in for the Lambda runtime's own packages; `make build` and it only with a python3.12.
RUNTIME := $(TOOLS)/runtime
RUNTIME_STAMP := $(RUNTIME)/.installed
BENCH_BUILD := $(if $(shell command -v python3.12 2>/dev/null),build $(RUNTIME_STAMP))
# sam validate needs a region, never credentials: any region checks the template the same way.
VALIDATE_REGION ?= eu-west-1
# make deploy: a samconfig.toml profile, parameters merged over the profile's, CONFIRM=0|1, GUIDED=1.
CONFIG_ENV ?= default
PARAMS ?=
export PARAMS
CONFIRM ?=
REGION ?=
# make smoke: the stack to check and, optionally, the address (or domain) its test lead uses.
STACK ?=
SMOKE_EMAIL ?=
export SAM_CLI_TELEMETRY := 0

.PHONY: help install test fuzz lint validate fmt demo up bench mutation openapi build deploy smoke lock clean publish

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (PYTHON=...)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the project and its dev tools into $(VENV) (first run only, about 2 minutes)..."
	@$(PY) -m pip install --progress-bar off -c constraints.txt -e '.[dev]' 2>&1 | tee $(VENV)/install.log \
	  | $(INSTALL_PROGRESS) \
	  || { tail -n 30 $(VENV)/install.log; echo "pip install failed (whole log: $(VENV)/install.log)"; exit 1; }
	@touch $@
	@echo "Installed. The operator command is $(VENV)/bin/crm (or: source $(VENV)/bin/activate, then crm --help)."

install: $(STAMP) ## create .venv and install the project (editable) with dev tools

test: $(STAMP) ## run the test suite (unit, integration, infrastructure, e2e)
	$(PY) -m pytest

fuzz: $(STAMP) ## the public routes' fuzz suite with many more examples (hypothesis profile "fuzz")
	CRM_HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/integration/leads/test_public_routes_fuzz.py tests/e2e/test_openapi_fuzz.py -p no:cacheprovider -q

lint: $(STAMP) $(TOOLS)/checkov/bin/checkov validate ## ruff, mypy, cfn-lint, checkov and sam validate
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(TOOLS)/checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

# Plain `sam validate` runs the SAM transform (what CloudFormation runs); cfn-lint and `--lint` do not.
# Offline: it needs a region and no credentials.
validate: $(SAM_STAMP) ## sam validate: the SAM transform accepts template.yaml (offline)
	$(SAM) validate --template-file template.yaml --region $(VALIDATE_REGION)

fmt: $(STAMP) ## format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

demo: $(STAMP) ## start the local stack and play the main story through it
	$(VENV)/bin/crm demo --port $(PORT)

up: $(STAMP) ## start the local stack on PORT (default 3000); Ctrl-C stops it
	$(VENV)/bin/crm local up --port $(PORT)

# Reports, never fails on a figure unless ARGS=--strict; writes docs/benchmarks.md (ARGS=--no-write does not).
# Cold start is measured on `make build`'s output under the runtime's python3.12 and boto3 (.tools/runtime);
# without a python3.12 it falls back to the source tree, and says so in its output and in the document.
bench: $(STAMP) $(BENCH_BUILD) ## benchmarks: cold start, AWS calls per operation, monthly bill -> docs/benchmarks.md
	$(PY) -m infra.bench $(ARGS)

# Not part of `make test`: 45-50 minutes on two shared cores. ARGS="--module crm_core/leads/merge.py -v" narrows it.
mutation: $(STAMP) ## mutation testing of the core modules: score per module and every surviving mutant
	$(PY) -m infra.mutation -j 2 $(ARGS)

openapi: $(STAMP) ## write the HTTP API's OpenAPI document to openapi.json
	$(VENV)/bin/crm openapi --output openapi.json

# checkov pins an old boto3, the SAM CLI its own: each lives in its own tool environment.
$(TOOLS)/checkov/bin/checkov:
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install -q checkov==3.3.30 2>&1 | $(QUIET_PIP)

# sam build needs a python3.12 on PATH (the Lambda runtime); with pyenv, put its 3.12 beside the default.
PYENV_312 := $(shell pyenv versions --bare 2>/dev/null | grep -m1 '^3\.12')
ifneq ($(PYENV_312),)
build deploy $(SAM_STAMP) $(RUNTIME_STAMP): export PYENV_VERSION := $(PYENV_312):$(shell pyenv version-name 2>/dev/null)
endif

# A new SAM_CLI_VERSION makes a new stamp, so the tool environment follows the pin.
$(SAM_STAMP):
	@command -v python3.12 >/dev/null || { echo "The SAM CLI and sam build need python3.12 on PATH (the Lambda runtime): install it (pyenv install 3.12, or your package manager), then run make again."; exit 1; }
	rm -rf $(TOOLS)/sam
	python3.12 -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/pip install -q aws-sam-cli==$(SAM_CLI_VERSION) 2>&1 | $(QUIET_PIP)
	touch $@

build: $(STAMP) $(SAM_STAMP) ## sam build, drop runtime-provided packages, compile .pyc
	$(SAM) build
	$(PY) -m infra.build .aws-sam/build
	python3.12 -m compileall -q --invalidation-mode unchecked-hash .aws-sam/build
	$(PY) -m infra.build --size .aws-sam/build

# What the Lambda runtime provides beside the layer (boto3 and its dependencies, at constraints.txt's pins),
# for the bench's cold-start processes: python3.12 with nothing else, not the SAM CLI's environment.
$(RUNTIME_STAMP): constraints.txt
	@command -v python3.12 >/dev/null || { echo "The bench's runtime needs python3.12 on PATH (the Lambda runtime)."; exit 1; }
	rm -rf $(RUNTIME)
	python3.12 -m venv $(RUNTIME)
	$(RUNTIME)/bin/pip install -q -c constraints.txt boto3 2>&1 | $(QUIET_PIP)
	touch $@

# PARAMS reaches the script through the environment: no Makefile quoting of its values.
DEPLOY := $(PY) -m infra.deploy --sam $(SAM) --config-env '$(CONFIG_ENV)' --params "$$PARAMS" \
  --confirm '$(CONFIRM)' --region '$(REGION)' $(if $(filter 1,$(GUIDED)),--guided)
# After sam deploy, the pending data migrations of the new release run against the deployed stack.
MIGRATE := $(VENV)/bin/crm migrate run --config-env '$(CONFIG_ENV)'$(if $(REGION), --region '$(REGION)')
ifeq ($(DRY_RUN),1)
deploy: $(STAMP)
	$(DEPLOY) --dry-run
	@echo "$(MIGRATE)"
else
deploy: $(STAMP) ## build, then sam deploy: CONFIG_ENV=prod PARAMS="K=V ..." CONFIRM=0 GUIDED=1 DRY_RUN=1
	$(DEPLOY) --check
	$(MAKE) --no-print-directory build
	$(DEPLOY)
	$(MIGRATE)
endif

# make publish: checked offline first (infra/publish.py), then built, then sam package + sam publish.
# S3_BUCKET holds the packaged artifacts (its policy lets SAR read them); REGION; DRY_RUN=1 only checks.
.PHONY: publish
S3_BUCKET ?=
PUBLISH := $(PY) -m infra.publish --sam $(SAM) --bucket '$(S3_BUCKET)' --region '$(REGION)'
ifeq ($(DRY_RUN),1)
publish: $(STAMP)
	$(PUBLISH) --dry-run
else
publish: $(STAMP) ## publish to the Serverless Application Repository: S3_BUCKET=... [REGION=...] DRY_RUN=1
	$(PUBLISH) --check
	$(MAKE) --no-print-directory build
	$(PUBLISH)
endif

smoke: $(STAMP) ## check a deployed stack: STACK=crm-automation-dev [REGION=...] [SMOKE_EMAIL=...]
	$(VENV)/bin/crm smoke --stack '$(STACK)'$(if $(REGION), --region '$(REGION)')$(if $(SMOKE_EMAIL), --email '$(SMOKE_EMAIL)')

lock: $(STAMP) ## re-pin constraints.txt from the current environment
	$(PY) -m pip freeze --exclude-editable | sort > constraints.txt

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache
