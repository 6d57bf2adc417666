# Campaign Platform — operator commands. Every target installs what it needs first.
# With DATABASE_URL unset, database targets use the embedded PostgreSQL in .data/postgres.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# Resolved when first used (so `make help` installs nothing); installs uv when missing.
UV = $(eval UV := $$(shell scripts/ensure-uv.sh))$(UV)
RUN := $(UV) run --frozen
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: help install dev dev-backend dev-worker dev-all build-emails dev-emails mail-outbox actions-doc bench-queue bench bench-api bench-memory bench-startup bench-ws bench-feed codegen test-typescript test-browser db-start db-stop db-upgrade db-downgrade db-migrate db-reset seed \
	test lint-backend format-backend check-backend check-all docker-build docker-test compose-test clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.venv/.installed: pyproject.toml uv.lock
	@$(UV) sync --frozen --all-groups
	@touch $@

install: .venv/.installed ## Install uv (if missing) and the locked environment

dev: dev-backend ## Run the API on :8000 (alias of dev-backend)

dev-backend: install ## Start PostgreSQL (embedded unless DATABASE_URL), migrate, serve with Granian on :8000
	@$(RUN) python -m app.cli serve

dev-worker: install ## Run a background worker (tasks and cron) against the same database
	@$(RUN) python -m app.cli worker

dev-all: install ## Run the API and a worker together (Ctrl-C stops both)
	@$(RUN) python scripts/dev_all.py

build-emails: install ## Render every email template (HTML and text) into emails/preview; fails on errors
	@$(RUN) python -m app.mail.preview

dev-emails: install ## Preview the emails in a browser at http://127.0.0.1:3001
	@$(RUN) python -m app.mail.preview --serve 3001

actions-doc: install ## Rewrite the action catalogue in README.md from the registry
	@$(RUN) python -m app.actions.catalogue

mail-outbox: install ## Print the newest emails the app produced (the dev outbox)
	@$(RUN) python -m app.cli mail-outbox

bench-ws: install ## 1,000 sockets on one thread, 200 messages: commit-to-receipt p50/p99 and API RSS
	@$(RUN) python -m bench.ws_bench

db-start: install ## Start the embedded PostgreSQL (kept running; data in .data/postgres)
	@$(RUN) python -m app.cli db-start

db-stop: install ## Stop the embedded PostgreSQL
	@$(RUN) python -m app.cli db-stop

db-upgrade: install ## Migrate the database to head (creates the application role if missing)
	@$(RUN) python -m app.cli db-upgrade

db-downgrade: install ## Roll back one migration (or REVISION=<rev>)
	@$(RUN) python -m app.cli db-downgrade $(or $(REVISION),-1)

db-migrate: install ## Autogenerate a migration from the models (none when nothing changed): make db-migrate MESSAGE="add x"
	@test -n "$(MESSAGE)" || (echo 'usage: make db-migrate MESSAGE="what changed"' && exit 2)
	@$(RUN) python -m app.cli db-migrate -m "$(MESSAGE)"

db-reset: install ## Downgrade to base and upgrade to head (destroys all data)
	@$(RUN) python -m app.cli db-reset

seed: db-upgrade ## Load a demo team and print its login (skipped when already there)
	@$(RUN) python -m app.cli seed

test: install ## Run the test suite on a real PostgreSQL (embedded unless DATABASE_URL is set)
	@scripts/ensure-test-tools.sh
	@$(RUN) pytest $(PYTEST_ARGS)

TS_CLIENT := clients/typescript

$(TS_CLIENT)/node_modules/.package-lock.json: $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	@command -v npm >/dev/null || (echo "codegen needs Node.js >= 20.19 and npm on PATH" && exit 2)
	@cd $(TS_CLIENT) && npm ci --no-audit --no-fund

codegen: install $(TS_CLIENT)/node_modules/.package-lock.json ## Export openapi.json (no server) and regenerate the TypeScript client
	@$(RUN) python -m app.cli openapi --output $(TS_CLIENT)/openapi.json
	@cd $(TS_CLIENT) && npx --no-install openapi-ts
	@cd $(TS_CLIENT) && npx --no-install tsc -p tsconfig.json --noEmit && echo "tsc --strict: the client compiles"

test-typescript: install ## The contract tests alone: codegen freshness, tsc, redocly lint, the TS end-to-end test
	@$(RUN) pytest -n 0 tests/test_typescript_client.py -k "not browser"

test-browser: install ## The browser test alone: Swagger UI and /saq in Chromium (screenshots in clients/typescript/artifacts)
	@$(RUN) pytest -n 0 tests/test_typescript_client.py -k browser

bench-feed: install ## The team feed's cost per page (time and buffers) at 10k, 100k and 1M events
	@$(RUN) python -m bench.feed_bench

bench-queue: install ## Measure enqueue-to-start latency and no-op jobs per second with a real worker
	@$(RUN) python -m bench.queue_bench

bench: install ## API vs a bare asyncpg handler on the same SQL: table, JSON and chart in bench/results (< 10 min)
	@$(RUN) python -m bench.run

bench-api: bench ## Alias of bench

bench-memory: install ## The API worker's RSS and USS over 10 minutes of mixed load, beside the import floor
	@$(RUN) python -m bench.memory_soak

bench-startup: install ## Time import app.main, API start to /health and worker start to "Worker starting"
	@$(RUN) python -m bench.startup_bench

lint-backend: install ## ruff check, ruff format --check, basedpyright
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) basedpyright

format-backend: install ## Format and auto-fix with ruff
	@$(RUN) ruff format .
	@$(RUN) ruff check --fix .

check-backend: lint-backend test ## Lint, type-check and test

check-all: check-backend ## Everything CI runs

docker-build: ## Build the image (API and worker) with docker, or podman when there is no docker
	@if command -v docker >/dev/null; then docker build -t campaign-platform:latest .; \
	else podman build --isolation=chroot --format docker -t campaign-platform:latest .; fi

docker-test: ## Build the image with podman and smoke-run it: migrate step, /health, a job in the worker
	@scripts/docker-test.sh

compose-test: ## Bring docker-compose.yml up with podman-compose: secrets required, migrate, /health, /ready, a mail job
	@scripts/compose-test.sh

clean: ## Remove caches (keeps .data)
	rm -rf .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
