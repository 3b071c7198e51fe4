# Set-up is automatic: every target creates .venv in the repository and installs what it needs
# on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DATA   ?= ../shared/data

.PHONY: demo test test-fast test-compose tools features data train evaluate bench bench-stream bench-state mutate clean

# The runtime alone (no TensorFlow): what the demo and `varstream serve` need.
$(VENV)/.installed-run: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "varstream needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

## make demo: set up .venv (runtime only) and run the stream demo on the embedded broker
##            (DEMO_ARGS="--stars 10" limits the replay)
demo: $(VENV)/.installed-run
	$(VENV)/bin/varstream demo --dataset $(DATA)/asassn $(DEMO_ARGS)

# The test environment holds the training stack too: the tests train tiny models and check
# their ONNX exports.
$(VENV)/.installed-test: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "varstream needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,train,parquet]'
	@touch $@

## make tools: the test tools from Debian's packages (promtool, docker-compose, chromium), as root
TOOLS := promtool docker-compose chromium
tools:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing test tools:$$missing (Debian packages prometheus docker-compose chromium)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      prometheus docker-compose chromium >/dev/null; \
	  else echo "missing test tools:$$missing; install Debian's prometheus, docker-compose and chromium packages"; fi; \
	fi

## make test: the whole test suite (unit + integration on ../shared/data)
test: $(VENV)/.installed-test tools
	$(PY) -m pytest -q

## make test-compose: the docker-compose stack end to end (needs a Docker engine)
test-compose: $(VENV)/.installed-test
	$(PY) -m pytest -q -m compose tests/compose

## make test-fast: unit tests only
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -q tests/unit

## make data: what the shared datasets hold
data: $(VENV)/.installed-test
	$(VENV)/bin/varstream data

## make features: the feature table of the whole shared Catalina set
features: $(VENV)/.installed-test
	$(VENV)/bin/varstream features --dataset $(DATA)/catalina --out build/features_catalina.csv

## make train: train and export the shipped models (varstream/models/) on the whole shared Catalina set
train: $(VENV)/.installed-test
	$(VENV)/bin/varstream train --dataset $(DATA)/catalina --out varstream/models --compare-augmentation

## make evaluate: score the shipped models on the Catalina test split (real, emulated and the first
##                N observations, 2,000 held-out simulated non-periodic curves), on the real ASAS-SN
##                curves and on the Gaia DR3 curves (families)
evaluate: $(VENV)/.installed-test
	$(VENV)/bin/varstream evaluate --dataset $(DATA)/catalina --prefix 20,50,100,200 --nonperiodic 2000 --out build/eval_catalina/report.json
	$(VENV)/bin/varstream evaluate --dataset $(DATA)/asassn --prefix 20,50,100,200 --out build/eval_asassn/report.json
	$(VENV)/bin/varstream evaluate --dataset $(DATA)/gaia_dr3 --out build/eval_gaia/report.json

## make bench: feature-pipeline throughput
bench: $(VENV)/.installed-test
	$(PY) benchmarks/features.py

## make bench-stream: stream throughput, latency, per-alert cost and losses on the embedded broker
##                    (BENCH_ARGS="--consumers 2"); then the kill -9 fault test with 10 kills
bench-stream: $(VENV)/.installed-test
	$(PY) benchmarks/stream.py $(BENCH_ARGS)
	VARSTREAM_FAULT_KILLS=10 $(PY) -m pytest -q tests/integration/test_faults.py -k kill9

## make mutate: mutation testing of the science core (cleaning, bands, Gaia, features) and the
##              stream's policy and state against the unit tests; prints the score and the survivors
mutate: $(VENV)/.installed-test
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2 || true
	$(PY) benchmarks/mutation_score.py

clean:
	rm -rf $(VENV) build mutants .pytest_cache .hypothesis
