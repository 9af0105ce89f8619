# Two environments: .venv-api (Python 3.11: FastAPI, SQLAlchemy 2) and .venv-bot
# (Python 3.10.13 from pyenv: Rasa 3.6). Everything a fresh clone needs is made here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY311 ?= $(shell command -v python3.11 || echo python3)
PY310 ?= $(shell p="$$(pyenv root 2>/dev/null)/versions/3.10.13/bin/python"; [ -x "$$p" ] && echo "$$p" || command -v python3.10)
API := .venv-api/bin
BOT := .venv-bot/bin
PIP_QUIET := --quiet --disable-pip-version-check
# Fixed seeds and quiet TensorFlow: training and conversation tests give the same result each run.
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_DETERMINISTIC_OPS := 1
export SANIC_HOST := 127.0.0.1
PIPELINE := bot/pipeline/en_helpline
MODEL := models/helpline.tar.gz
# pytest-xdist for the suites whose tests are independent: one worker per core, each test file
# kept on one worker (module fixtures such as a started server run once). Every worker has its
# own temporary directories, free ports and, for PostgreSQL, its own throwaway server.
# PYTEST_WORKERS=0 runs a suite in one process (e.g. to debug a failure).
PYTEST_WORKERS ?= auto
XDIST = -n $(PYTEST_WORKERS) --dist loadfile
# The phases of `make test`, in order; each one's time goes to reports/test-times.md. Joined by "+":
# run side by side, each leaving a core idle much of the time. Measured on 2 cores (2026-12-02):
# stories + nlu about 18 s less than one after the other, test-bot + validate 10 s less. Training beside the
# PostgreSQL tests saved nothing (289 s together, 287 one after the other): both keep the cores busy.
TEST_PHASES := lint audit test-api test-api-postgres test-bot+validate stories+nlu faults

.PHONY: help run test setup env venvs migrate seed train pipeline lint audit test-api test-bot validate stories nlu \
        sms test-api-postgres retention bench a11y bench-reports faults lock-api lock-bot clean rules-check

help:
	@echo "make run    set everything up, then start the API (8000), action server (5055) and Rasa (5005)"
	@echo "make test   every check: lint, API tests, action tests, rasa data validate, conversation tests, fault tests,"
	@echo "            NLU report; each phase's time is printed at the end and written to reports/test-times.md"
	@echo "make lint   ruff and the import contracts (lint-imports); the first step of make test"
	@echo "make a11y   the browser tests alone: axe-core on every page, the phone, keyboard and no-JavaScript walks"
	@echo "make audit  pip-audit over requirements/api.txt and bot.txt (skips, saying so, when offline)"
	@echo "make bench-reports  time /reports over 100,000 stored turns (bench/reports-results.md)"
	@echo "make rules-check FILE=api/triage/rules/sharps-2027.1.1.yaml  replay a candidate rule file over the past"
	@echo "            cases in DATABASE_URL (a copy of the live database) and print what would change"

# A developer's and CI's .venv-api: production's packages (api.txt) and the test tools (api-dev.txt),
# each file checked against its hashes. A server installs requirements/api.txt alone, the same way.
.venv-api/.installed: requirements/api.txt requirements/api-dev.txt
	@test -x $(API)/python || $(PY311) -m venv .venv-api
	$(API)/pip install $(PIP_QUIET) --require-hashes -r requirements/api-dev.txt 2> >(grep -v "^WARNING: Location" >&2)
	@touch $@

.venv-bot/.installed: requirements/bot.txt
	@test -n "$(PY310)" || { echo "Python 3.10.13 not found (pyenv install 3.10.13)"; exit 1; }
	@test -x $(BOT)/python || $(PY310) -m venv .venv-bot
	$(BOT)/pip install $(PIP_QUIET) --require-hashes -r requirements/bot.txt 2> >(grep -v "^WARNING: Location\|DEPRECATION" >&2)
	@touch $@

venvs: .venv-api/.installed .venv-bot/.installed

# Writes .env on first run; on later runs only adds settings it lacks.
env: .venv-api/.installed
	@$(API)/python scripts/make_env.py .env

.env: env

setup: venvs env migrate seed pipeline train

migrate: .venv-api/.installed .env
	@mkdir -p var
	$(API)/alembic upgrade head

seed: .venv-api/.installed .env
	$(API)/python -m api.seed

$(PIPELINE)/meta.json: .venv-bot/.installed bot/build_pipeline.py $(wildcard bot/patterns/*)
	$(BOT)/python -m bot.build_pipeline --out $(PIPELINE)

pipeline: $(PIPELINE)/meta.json

# Retrains only when config, domain, data, lexicon or the language pipeline changed.
train: pipeline
	@$(BOT)/python scripts/train_if_changed.py --model $(MODEL)

run: setup
	@echo ""
	@echo "  API        http://127.0.0.1:8000   (health: /health, docs: /docs)"
	@echo "  Rasa       http://127.0.0.1:5005   (REST channel: /webhooks/rest/webhook)"
	@echo "  Actions    http://127.0.0.1:5055   (/webhook)"
	@echo "  API token  in .env (HELPLINE_API_TOKEN)"
	@echo ""
	$(API)/honcho start -f Procfile

# Fast, so the first step of make test: style and errors (ruff.toml), then the import contracts (.importlinter).
lint: .venv-api/.installed
	$(API)/ruff check .
	$(API)/lint-imports

# Known vulnerabilities in both lock files (pip-audit); one line and no failure when no vulnerability
# service answers (an offline machine): HELPLINE_REQUIRE_AUDIT=1 makes that a failure.
audit: .venv-api/.installed
	$(API)/python scripts/audit.py requirements/api.txt requirements/bot.txt

test-api: .venv-api/.installed
	$(API)/python -m pytest tests/api tests/browser tests/scripts -q $(XDIST)

# The browser tests alone (they also run in test-api): Debian's chromium, axe-core vendored under
# tests/browser/vendor; each page's axe result in tests/artifacts/axe/, screenshots in tests/artifacts/.
a11y: .venv-api/.installed
	HELPLINE_REQUIRE_CHROMIUM=1 $(API)/python -m pytest tests/browser -q $(XDIST)

# The API suite's database tests again against a throwaway PostgreSQL server (Debian's postgresql
# package), one server per xdist worker. Left out, because they would only repeat the SQLite run:
# the pure rules and domain (tests/api/triage, tests/api/domain: no database) and the staff pages
# (tests/api/web: their queries are the services', which run here through the API and service tests),
# all but the sign-in lock-out under parallel attempts, whose row locking differs by database.
PG_SKIP := --ignore=tests/api/triage --ignore=tests/api/domain \
  $(addprefix --ignore=,$(filter-out tests/api/web/test_signin_lockout.py,$(wildcard tests/api/web/test_*.py)))
test-api-postgres: .venv-api/.installed
	HELPLINE_TEST_DATABASE=postgres HELPLINE_REQUIRE_POSTGRES=1 $(API)/python -m pytest tests/api -q $(XDIST) $(PG_SKIP)

# A candidate rule file replayed over the past cases in DATABASE_URL (the environment, else .env): point it at a
# copy of the live database. Prints the diff against the live rules; exit 0 nothing changed, 1 something changed,
# 2 the file is invalid (its line named), 3 no database. make itself exits 2 on any of these failures: a CI
# step that needs the exact status runs `.venv-api/bin/python -m scripts.rules_check FILE`. README "Releasing a
# rule version".
rules-check: .venv-api/.installed
	@test -n "$(FILE)" || { echo "usage: make rules-check FILE=path/to/sharps-2027.1.1.yaml"; exit 2; }
	$(API)/python -m scripts.rules_check "$(FILE)" $(RULES_CHECK_ARGS)

# Redact personal data of cases closed longer ago than RETENTION_DAYS_AFTER_CLOSURE (run daily).
retention: .venv-api/.installed .env
	$(API)/python -m api.retention

# One process: the tests take ~5 s and importing Rasa ~6 s, which each xdist worker would repeat.
test-bot: .venv-bot/.installed pipeline
	$(BOT)/python -m pytest tests/actions tests/bot -q

validate: .venv-bot/.installed
	$(BOT)/rasa data validate --fail-on-warnings --domain domain.yml --data data --config config.yml

stories: train .venv-api/.installed
	bash scripts/run_story_tests.sh

# The model make train keeps up to date (not merely the newest file in models/).
nlu: train
	$(BOT)/python scripts/nlu_report.py --model $(MODEL)

# Each phase in turn, the first failure stopping the run; a group joined by "+" runs side by side
# (scripts/test_phases.sh says why). Each phase's seconds and the load average before and after it
# are printed at the end and written to reports/test-times.md.
test: venvs
	@MAKE="$(MAKE)" bash scripts/test_phases.sh $(TEST_PHASES)

# Text the running API exactly as Twilio would (signed); VOICE=1 for a call's turns.
sms: .venv-api/.installed .env
	$(API)/python scripts/sms.py $(if $(VOICE),--voice)

# 50 concurrent SMS conversations through the API vs straight to Rasa; writes bench/results.md.
bench: train .venv-api/.installed
	BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" $(API)/python bench/run.py $(BENCH_ARGS)

# /reports and a CSV over a throwaway database of 100,000 stored turns; writes bench/reports-results.md.
bench-reports: .venv-api/.installed
	$(API)/python -m bench.reports

# kill -9 of each process mid-conversation, and the scaled-out set-up (PostgreSQL + Redis).
# Part of make test. Without redis-server/PostgreSQL the scaled tests skip (reason shown);
# HELPLINE_REQUIRE_SCALED=1 (.ci/run) makes that a failure. No tests collected (exit 5) fails too.
# One file at a time: run side by side, the scaled-out stack's Rasa competed with the other fault
# stacks for the two cores and one of its turns got the safe answer (a flake, 2026-12-01).
faults: train .venv-api/.installed
	$(API)/python -m pytest tests/faults -v

# The API's locks from requirements/api.in and api-dev.in, with every file's hash (pip-tools in its
# own small venv inside .venv-api, so it is in neither lock). Versions already locked are kept;
# `make lock-api LOCK_ARGS=--upgrade` moves them on.
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
lock-api: .venv-api/.installed
	@test -x .venv-api/lock/bin/pip-compile || { $(PY311) -m venv .venv-api/lock && \
	  .venv-api/lock/bin/pip install $(PIP_QUIET) pip-tools==7.6.2; }
	CUSTOM_COMPILE_COMMAND="make lock-api" .venv-api/lock/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/api.txt requirements/api.in
	CUSTOM_COMPILE_COMMAND="make lock-api" .venv-api/lock/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/api-dev.txt requirements/api-dev.in
	$(API)/python scripts/split_lock.py requirements/api-dev.txt requirements/api.txt

# The bot's exact set (setuptools and wheel too: --require-hashes needs every package pinned), then
# every file's hash from the indexes pip uses (scripts/hash_lock.py).
lock-bot:
	$(BOT)/pip freeze --all --exclude pip --disable-pip-version-check > requirements/bot.txt
	$(BOT)/python scripts/hash_lock.py requirements/bot.txt

clean:
	rm -rf models bot/pipeline .pytest_cache reports
