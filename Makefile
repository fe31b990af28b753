# Two commands matter: `make up` (set up, build and install the collection, list it)
# and `make test` (everything CI runs). The rest are single stages of scripts/harness.
HARNESS := scripts/harness

.PHONY: up test setup lint sanity unit app molecule build clean

up:
	$(HARNESS) up

test:
	$(HARNESS) test

setup:
	$(HARNESS) setup

lint sanity unit app build: setup
	$(HARNESS) $@

# make molecule                      all scenarios, in parallel
# make molecule SCENARIO=platform    one scenario
molecule: setup
	MOLECULE_SCENARIOS="$(SCENARIO)" $(HARNESS) molecule

clean:
	rm -rf dist .cache/sanity .cache/installed .cache/logs tests/output
