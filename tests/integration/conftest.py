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

from chaos.engine import Engine
from drills import provision
from drills.errors import EngineUnavailable
from drills.images import build_images
from drills.runs import RunRecord, recorded_run_ids
from drills.stack import StackSpec


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        engine = Engine.connect()
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


def start(engine: Engine, replicas: int = 3) -> RunRecord:
    return provision.up(engine, StackSpec(replicas=replicas), progress=lambda line: None)


def stop(engine: Engine, run_id: str) -> None:
    provision.down(engine, run_id)
    assert engine.leftovers(run_id) == [], "drill down left resources with the run's label"


@pytest.fixture(scope="module")
def stack(engine: Engine) -> Iterator[RunRecord]:
    record = start(engine)
    yield record
    stop(engine, record.run_id)


def drill_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "drills.cli", *args], capture_output=True, text=True, timeout=timeout)
