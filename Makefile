# Two commands for a fresh machine (each installs what it needs into .venv):
#   make demo   seed 0's study on the bundled digits data: sigmoid/relu x SGD/Adam compared side by side
#               (table, figure, HTML report with a diagnosis, best checkpoints in nerve_runs/demo)
#   make test   runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned here (not in pyproject) so pip never pulls a multi-GB CUDA build by surprise;
# override e.g. `make test TORCH_SPEC="torch>=2.4"` on a machine that wants another build.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install demo test clean bench

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/nerve compare --out nerve_runs/demo

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info .pytest_cache

# make bench   nerve against Keras 3 (jax/tensorflow/torch), a hand-written PyTorch loop and Lightning
#              (benchmarks/run.py; writes benchmarks/results/*.json and benchmarks/RESULTS.md). Its own
#              venv, so TensorFlow's numpy pins never touch .venv; a peer that fails to install is
#              skipped (noted in the table). Options: make bench BENCH_ARGS="--quick --peers nerve,torch"
BENCH_VENV ?= .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_STAMP := $(BENCH_VENV)/.installed
BENCH_ARGS ?=

$(BENCH_STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/python -m pip install --quiet --upgrade pip
	$(BENCH_BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BENCH_BIN)/python -m pip install --quiet -e ".[bench]" || $(BENCH_BIN)/python benchmarks/install_peers.py
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_BIN)/python benchmarks/run.py $(BENCH_ARGS)
