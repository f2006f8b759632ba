# Two commands set everything up on a fresh machine: `make curate` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
RUN ?= runs/sample
WORKERS ?=

.PHONY: install curate test bench train-smoke clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

curate: $(STAMP)
	$(BIN)/curate run pipelines/llama3.yaml --input sample/ --output $(RUN) $(if $(WORKERS),--workers $(WORKERS))
	$(BIN)/curate report $(RUN)
	@echo "status:  $(BIN)/curate status $(RUN) --json"

train-smoke: $(STAMP)
	test -f $(RUN)/manifest.json || $(MAKE) curate
	rm -rf $(RUN)/train-smoke
	$(BIN)/python -m curation.train --manifest $(RUN)/manifest.json --data tokens --flavour debug --steps 20 \
	  --anneal-tokens 8192 --checkpoint-every 10 --cpu-threads 1 --out $(RUN)/train-smoke
	$(BIN)/curate average-checkpoints $(RUN)/train-smoke --last 2 --out $(RUN)/train-smoke/averaged

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/loader.py
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/cleanup.py
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/decontaminate.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/fluency_calibration.py
	$(BIN)/python bench/quality_select.py

clean:
	rm -rf $(RUN) .pytest_cache
