# make demo: all set-up, then the main job.   make test: all set-up, then the whole suite.
PYTHON ?= python3
VENV   := .venv
PACKAGES := drills doors stack chaos traffic telemetry scoreboard playbooks orchestration facilitator cli
BIN    := $(VENV)/bin

.PHONY: setup engine venv images browser postgres demo test lint unit bench swarm-3 clean

setup: engine venv images

engine:
	bash setup/engine.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# Bytecode now, so commands start fast even where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/python -m compileall -q $(PACKAGES) >/dev/null
	touch $@

images: engine venv
	$(BIN)/drill images build

# The main job: a whole Traffic Tango drill with the autopilot responding (about a minute).
demo: setup
	$(BIN)/drill run traffic-tango --autopilot --team demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Fast: without the PostgreSQL half of the store suite (make test runs it), on two pytest-xdist
# workers (the suite is CPU-bound: about 9 CPU-s; one process cannot finish it under 10 s).
unit: venv
	$(BIN)/pytest tests/unit -q -m "not postgres" -n 2 --dist worksteal

# Debian's chromium, for the test that opens `drill report` in a real headless browser.
browser:
	bash setup/browser.sh

# Debian's postgresql, for the store tests against a real server (a throwaway cluster each session).
postgres:
	bash setup/postgres.sh

# The whole suite: lint, unit tests, the PostgreSQL store tests and the Docker-backed tests, none skipped. First the
# whole-drill files (marker side_by_side, tests/integration/conftest.py) on TEST_WORKERS
# pytest-xdist workers, a test each at a time (a file's tests together where they share a module
# fixture): they mostly wait on their drills' phases and
# each keeps to its own stack, DRILL_HOME and labels. Then the rest alone: their shares within
# 5%, latency thresholds and lb.tango's swing count (marker alone) do not share the machine.
# TEST_WORKERS=0: all in one process.
TEST_WORKERS ?= 2
test: setup browser postgres lint
	DRILL_REQUIRE_DOCKER=1 $(BIN)/pytest -q -m side_by_side -n $(TEST_WORKERS) --dist loadgroup --durations=15; first=$$?; \
	DRILL_REQUIRE_DOCKER=1 $(BIN)/pytest -q -m "not side_by_side" --durations=25; rest=$$?; \
	[ $$first = 0 ] && [ $$rest = 0 ]

# Benchmarks print ratios against a reference measured in the same run (not timed tests), one
# per row of issue #15's table. STEADY_MINUTES=10 by default for the false-alert check (STEADY_RUNS
# runs of it); lower both for a quick look. DENSITY_TEAMS=8 drills at once for the density row.
STEADY_MINUTES ?= 10
STEADY_RUNS ?= 3
DENSITY_TEAMS ?= 8
bench: setup
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || \
		{ echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
	$(BIN)/python -m benchmarks.bench_density $(DENSITY_TEAMS)
	$(BIN)/python -m benchmarks.bench_cpu
	$(BIN)/python benchmarks/bench_generator.py
	$(BIN)/python -m benchmarks.bench_cli
	$(BIN)/python -m benchmarks.bench_stack 5
	$(BIN)/python -m benchmarks.bench_unit
	STEADY_MINUTES=$(STEADY_MINUTES) $(BIN)/python -m benchmarks.bench_steady $(STEADY_RUNS)

# A three-node swarm (this engine the manager, three Docker-in-Docker workers) and a three-team
# game day on it, each team's stack on its own node (not in `make test`; about 3 minutes).
swarm-3: setup
	bash setup/swarm3.sh

clean:
	-$(BIN)/drill down --all
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
