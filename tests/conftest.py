"""Fixtures for every test directory: a real PostgreSQL for the store's second backend.

Without Debian's postgresql installed (`make postgres`) the PostgreSQL tests are skipped,
except under DRILL_REQUIRE_DOCKER=1 (make test, CI), where a missing server fails the run.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from tests import pgcluster

# A suite started in the background by a shell without job control (`make test &`, some CI
# runners) inherits SIGINT ignored, and so would every drill the tests start: the tests that
# press Ctrl-C on a drill would then wait for nothing. Caught here (as from a terminal), it
# reaches the drills the tests start at its default, after their exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgcluster.Cluster]:
    bin_dir = pgcluster.server_bin()
    if bin_dir is None:
        missing = "no PostgreSQL server in /usr/lib/postgresql/*/bin (`make postgres` installs Debian's package)"
        if os.environ.get("DRILL_REQUIRE_DOCKER") == "1":
            pytest.fail(f"DRILL_REQUIRE_DOCKER=1 but {missing}")
        pytest.skip(missing)
    cluster = pgcluster.start(bin_dir)
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres: pgcluster.Cluster) -> str:
    """A fresh empty database of its own for one test."""
    return postgres.new_database()
