# The README's commands: `make demo` (set up, then the whole stack in local containers, its URLs and credentials),
# `make test` (everything CI runs) and `make demo-down`. A bare `make` is `make up` (set up, build and install the
# collection, list it): it starts no containers. The rest are single stages of scripts/harness.
# Only `make molecule` (and `make setup`, `up`, `test`) need the Docker engine and the base image; lint, sanity,
# unit, app and build set up just the host packages and .venv (the harness's `tools` stages) before they run.
HARNESS := scripts/harness

.PHONY: up demo demo-down test setup lint sanity unit app molecule build clean

up:
	$(HARNESS) up

# make demo        deploy (or, when it is up, converge again and report the changes); prints URLs and credentials
# make demo-down   remove the demo's containers and its generated secrets
demo:
	$(HARNESS) demo

demo-down:
	$(HARNESS) demo-down

test:
	$(HARNESS) test

setup:
	$(HARNESS) setup

lint sanity unit app build:
	$(HARNESS) tools $@

# make molecule                      all scenarios, in parallel
# make molecule SCENARIO=platform    one scenario
molecule:
	MOLECULE_SCENARIOS="$(SCENARIO)" $(HARNESS) setup molecule

clean:
	rm -rf dist .cache/sanity .cache/installed .cache/logs tests/output
