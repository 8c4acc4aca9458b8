# alignstat: the two entry points are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= demo-output
# the test suite uses both cores; CI sets nothing else
PYTEST_WORKERS ?= 2

.PHONY: demo test venv clean bench docs lint doctest browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,test,docs]'
	touch $(STAMP)

# headless Chromium renders the HTML report in the tests; installed from Debian's packages where missing
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "installing chromium and chromium-driver (Debian packages) for the report test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

demo: $(STAMP)
	$(BIN)/alignstat demo --out $(DEMO_OUT) --overwrite

lint: $(STAMP)
	$(BIN)/ruff check .

doctest: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --doctest-modules alignstat surveys inference analyses

docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

# lint, the documentation (tutorials executed, warnings are errors), then every test and doctest
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q --doctest-modules alignstat surveys inference analyses tests

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .hypothesis docs/_build
