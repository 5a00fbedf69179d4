# optbench: `make run` for a first comparison, `make test` for the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT := DEBIAN_FRONTEND=noninteractive apt-get install -y -q >/dev/null

.PHONY: run test bench lint clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,lint]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/optbench run default
	@echo "Plots:"
	@$(BIN)/optbench plot --suite default --output results/plots
	@echo "Report (open it in a browser):"
	@$(BIN)/optbench report --suite default --output results/report.html

# Two test processes: most tests compile on one core, so two cores finish in two thirds
# of the time. A single test runs as usual: .venv/bin/python -m pytest tests/test_loop.py
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2

# The report's browser test drives Debian's chromium; installed here where apt can, else
# that test is skipped and says why.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { $(APT) chromium chromium-driver || { apt-get update -q >/dev/null && $(APT) chromium chromium-driver; }; }; } || \
	echo "make test: chromium and chromium-driver could not be installed; the browser test will be skipped"

bench: $(STAMP)
	$(BIN)/python -m pytest tests/benchmarks --benchmark-enable --benchmark-only \
		--benchmark-columns=min,median,mean,rounds -p no:randomly -s

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .benchmarks
