"""Docker-backed tests: a real engine, real HAProxy, real HTTP through the balancer.

Skipped when no engine answers, except under DRILL_REQUIRE_DOCKER=1 (make test, CI),
where a missing engine fails the run instead of hiding the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.models.containers import Container

from doors.balancer import RuntimeApi
from doors.clock import SYSTEM_CLOCK
from doors.engine import DockerEngine
from doors.http import UrllibProbe
from doors.kit import Doors
from doors.runtime import LABEL_RUN, SERVICE_LABEL
from doors.swarm import SwarmEngine
from drills.errors import EngineUnavailable
from orchestration import teardown
from stack import provision
from stack.build import build_images
from stack.rundir import RunRecord, recorded_run_ids
from stack.spec import StackSpec

PROBE = UrllibProbe()


# Whole drills that mostly wait on their own phases, each on its own stack, DRILL_HOME and
# labels: `make test` runs these files on two workers side by side. Everything else (shares
# within 5%, latency thresholds, the game day's five stacks, new files) runs alone after them.
SIDE_BY_SIDE = frozenset(
    {"test_catalogue.py", "test_drill.py", "test_scoreboard.py", "test_install.py", "test_ownapp.py"}
)
# A Docker test is tried once more when it fails: real stacks on an engine others use, real
# timing. The summary counts every rerun ("N rerun"), so a test that needs one is seen, not hidden.
RERUNS = 1
# Files whose tests share a module fixture (a stack, a pair of drills) stay on one worker.
ONE_WORKER = frozenset({"test_scoreboard.py", "test_install.py"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.docker)
            item.add_marker(pytest.mark.flaky(reruns=RERUNS, reruns_delay=2))
            if item.path.name in SIDE_BY_SIDE and item.get_closest_marker("alone") is None:
                item.add_marker(pytest.mark.side_by_side)
            if item.path.name in ONE_WORKER:
                item.add_marker(pytest.mark.xdist_group(item.path.name))


@pytest.fixture(scope="session")
def engine() -> DockerEngine:
    try:
        engine = DockerEngine.connect()
    except EngineUnavailable as exc:
        if os.environ.get("DRILL_REQUIRE_DOCKER") == "1":
            pytest.fail(f"DRILL_REQUIRE_DOCKER=1 but {exc}")
        pytest.skip(str(exc))
    build_images(engine, "auto", progress=lambda line: None)
    return engine


@pytest.fixture(scope="session", autouse=True)
def drill_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Runs made by the tests live in a directory of their own; none may survive the session."""
    home = tmp_path_factory.mktemp("drill-home")
    previous = os.environ.get("DRILL_HOME")
    os.environ["DRILL_HOME"] = str(home)
    yield home
    left = recorded_run_ids(home)
    if previous is None:
        del os.environ["DRILL_HOME"]
    else:
        os.environ["DRILL_HOME"] = previous
    assert left == [], f"tests left run directories behind: {left}"


def doors_of(engine: DockerEngine) -> Doors:
    """The real doors over the session's engine."""
    return Doors(lambda: engine, SYSTEM_CLOCK, PROBE, RuntimeApi)


@pytest.fixture(scope="session")
def doors(engine: DockerEngine) -> Doors:
    return doors_of(engine)


def served_by(url: str, requests: int, path: str = "/api/catalog") -> dict[str, int]:
    return dict(PROBE.served_by(url, requests, path))


def container(engine: DockerEngine, run_id: str, service: str) -> Container:
    """A run's container as the Docker SDK gives it: tests act as responders do, with docker's own tools."""
    found = engine.client.containers.list(
        all=True, filters={"label": [f"{LABEL_RUN}={run_id}", f"{SERVICE_LABEL}={service}"]}
    )
    assert found, f"run {run_id} has no {service} container"
    return found[0]


def start(engine: DockerEngine, replicas: int = 3) -> RunRecord:
    return provision.up(doors_of(engine), StackSpec(replicas=replicas), progress=lambda line: None)


def stop(engine: DockerEngine, run_id: str) -> None:
    teardown.down(doors_of(engine), run_id)
    assert engine.leftovers(run_id) == [], "drill down left resources with the run's label"


@pytest.fixture(scope="module")
def stack(engine: DockerEngine) -> Iterator[RunRecord]:
    record = start(engine)
    yield record
    stop(engine, record.run_id)


def drill_cli(*args: str, timeout: float = 180, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`drill ARGS` in a process of its own. Past the timeout it gets SIGTERM (a drill aborts,
    reverts and removes its stack, as for a facilitator's kill) and up to a minute to do so,
    not subprocess.run's SIGKILL, which would leave its stack behind."""
    argv = [sys.executable, "-m", "cli.main", *args]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                out, err = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            raise subprocess.TimeoutExpired(argv, timeout, out, err) from None
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


@pytest.fixture(scope="session")
def swarm(engine: DockerEngine) -> Iterator[SwarmEngine]:
    """A single-node swarm on the session's engine: initialised here only if the engine is in
    no swarm, and left at the end only if it was initialised here (the daemon as found)."""
    state = (engine.client.info().get("Swarm") or {}).get("LocalNodeState")
    initialised = state == "inactive"
    if initialised:
        subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], check=True, capture_output=True)
    try:
        yield SwarmEngine.connect()
    finally:
        if initialised:
            subprocess.run(["docker", "swarm", "leave", "--force"], check=True, capture_output=True)
