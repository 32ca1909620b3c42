# MaxTrader. Every target bootstraps what it needs on a fresh machine (Python venv, pinned CDK CLI).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CDK := node_modules/.bin/cdk
STAGE ?= staging

# Node 20 is end-of-life for jsii; the banner is noise in every synth (the value is the major).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help demo cost test lint typecheck synth bench clean layer layer-size deploy

help:
	@echo "make demo                    one synthetic trading day end to end on local AWS + emulators, every fault drill"
	@echo "make test                    lint, type-check and run every test (bootstraps .venv and the CDK CLI)"
	@echo "make cost                    measure a simulated day's AWS requests, store them, print docs/cost.md's table"
	@echo "make synth STAGE=staging     synthesize the stage's CloudFormation offline (CDK_OUTDIR honoured)"
	@echo "make bench                   run the benchmarks in bench/ and print their figures"
	@echo "make layer                   build the dependency layer (pip, no Docker; cached by its inputs)"
	@echo "make layer-size              build it if needed and print its unzipped size (limit 200 MB)"
	@echo "make deploy STAGE=staging    preflight, layer, synth, cfn-lint, then cdk deploy (not in CI)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The CLI is pinned in package.json/package-lock.json: a 2.x that reads aws-cdk-lib 2.x assemblies.
$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(CDK) lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup --durations=15

# The README's first command: the whole system trades a (synthetic, seeded) session on this machine
# with every fault drill, no account and no network. The dev extra includes the demo extra.
DEMO_OUT ?= .build/simulate

demo: $(STAMP) $(CDK)
	@mkdir -p "$(DEMO_OUT)"
	$(BIN)/maxtrader simulate --faults all --json "$(DEMO_OUT)/demo.json" --report "$(DEMO_OUT)/demo.html"

# The demo's session measures what each function asks of AWS; the cost model prices a month of it
# (infra/maxtrader_infra/session_usage.json; paste the table into docs/cost.md).
cost: $(STAMP) $(CDK)
	@mkdir -p "$(DEMO_OUT)"
	-$(BIN)/maxtrader simulate --faults all --json "$(DEMO_OUT)/demo.json" > /dev/null
	PYTHONPATH=infra $(BIN)/python -m maxtrader_infra.cost_model --measured "$(DEMO_OUT)/demo.json" production

synth: $(STAMP) $(CDK)
	$(CDK) synth -c stage=$(STAGE) --output "$${CDK_OUTDIR:-cdk.out/$(STAGE)}" --quiet

BENCH_STAMP := $(VENV)/.bench-stamp

# backtesting.py and friends: baselines the benchmarks compare against, not needed for tests.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf cdk.out .build .mypy_cache .ruff_cache .pytest_cache .hypothesis

# The third-party layer: layers/deps/build.py keys its output by a hash of its inputs, so a second
# run does nothing. It fails when the layer comes out over 200 MB unzipped.
LAYER_OUT ?= .build/layers/deps
LAYER_BUILD = $(BIN)/python layers/deps/build.py --out-root "$(LAYER_OUT)"

layer: $(STAMP)
	$(LAYER_BUILD)

layer-size: layer
	$(BIN)/python layers/deps/layer_size.py "$$($(LAYER_BUILD) --print-dir)"

# Refuses a production stage with placeholder contacts or account before anything else, then
# deploys exactly the assembly it synthesized with the real layer and linted.
DEPLOY_OUT ?= cdk.out/deploy-$(STAGE)
# W3005: CDK makes each function DependsOn its role as well as the role's policy; the role one is
# redundant and harmless (maxtrader_infra/nag_acknowledgements.py CFN_LINT_IGNORED, tested equal).
CFN_LINT_IGNORE := W3005
PREFLIGHT_FLAGS ?=

deploy: $(STAMP) $(CDK)
	$(BIN)/python infra/deploy_preflight.py $(STAGE) $(PREFLIGHT_FLAGS)
	$(LAYER_BUILD)
	rm -rf "$(DEPLOY_OUT)"
	$(CDK) synth -c stage=$(STAGE) -c maxtrader:depsLayerDir="$$($(LAYER_BUILD) --print-dir)" \
		--output "$(DEPLOY_OUT)" --quiet
	$(BIN)/cfn-lint --ignore-checks $(CFN_LINT_IGNORE) -- "$(DEPLOY_OUT)"/*.template.json
	$(CDK) deploy --app "$(DEPLOY_OUT)" --require-approval broadening MaxTrader-$(STAGE)
