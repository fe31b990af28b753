# Two commands matter: `make up` (set up, build and install the collection, list it)
# and `make test` (everything CI runs). The rest are single stages of scripts/harness.
# Only `make molecule` (and `make setup`, `up`, `test`) need the Docker engine and the base image; lint, sanity,
# unit, app and build set up just the host packages and .venv (the harness's `tools` stages) before they run.
HARNESS := scripts/harness

.PHONY: up test setup lint sanity unit app molecule build clean

up:
	$(HARNESS) up

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
