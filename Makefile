# The README's commands. Each target is idempotent: it creates .venv if needed, installs
# what is missing, then runs. Override TORCH to pick another build, e.g. make run TORCH=torch
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
OUT    ?= runs/compare

.PHONY: run test setup setup-core setup-dev clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# torch first, and only if missing: a bare `torch` requirement would pull a multi-GB CUDA build.
# setup-core is what the command line needs (the main job); setup adds JupyterLab for the lessons.
setup-core: $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e .

setup: setup-core
	$(PY) -m pip install --quiet -e ".[lab]"

setup-dev: setup
	$(PY) -m pip install --quiet -e ".[lab,dev]"

run: setup-core
	$(VENV)/bin/gamlab compare --out $(OUT)

test: setup-dev
	$(PY) -m ruff check gamlab tests benchmarks tools
	GAMLAB_FAST=1 $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider

clean:
	rm -rf $(VENV) runs
