# Quickstart targets: `make demo` (the whole job) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; elsewhere add e.g. TORCH_INDEX=--index-url=https://download.pytorch.org/whl/cpu
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
DATA ?= movielens-100k
ARTIFACT ?= artifacts/ml100k
HISTORY ?= 50,172,181
PYTEST_ARGS ?=
comma := ,

.PHONY: install demo test check-wheel quality clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_INDEX) '$(TORCH_SPEC)'
	$(BIN)/python -m pip install -q -e '.[train,dev]'
	touch $@

demo: install
	$(BIN)/ytrec data fetch $(DATA)
	$(BIN)/ytrec train --data $(DATA) --out $(ARTIFACT) --curves $(ARTIFACT).curves.png
	$(BIN)/python examples/recommend_without_torch.py $(ARTIFACT) $(subst $(comma), ,$(HISTORY))
	$(BIN)/ytrec recommend $(ARTIFACT) --history $(HISTORY) -k 10
	$(BIN)/ytrec evaluate $(ARTIFACT) --data $(DATA) --json $(ARTIFACT).metrics.json
	$(BIN)/ytrec-bench $(ARTIFACT) --json $(ARTIFACT).bench.json

test: install
	$(BIN)/python -m mypy --strict ytrec_infer/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Train from the built wheel alone in a clean venv (what .ci/run does after the tests).
check-wheel: install
	TORCH_INDEX='$(TORCH_INDEX)' scripts/check-wheel-training.sh $(BIN)/python

# The README's Results: 3 seeds through the artifact, baselines, ablations (docs/evaluation.md).
quality: install
	nice -n 10 $(BIN)/python -m benchmarks.quality.run --data $(DATA)

clean:
	rm -rf $(VENV) artifacts .pytest_cache
