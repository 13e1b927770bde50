"""Fixtures for every test directory: a real PostgreSQL for the store's second backend.

Without Debian's postgresql installed (`make postgres`) the PostgreSQL tests are skipped,
except under DRILL_REQUIRE_DOCKER=1 (make test, CI), where a missing server fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import pgcluster


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
