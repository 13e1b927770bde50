"""The PostgreSQL store when the server goes away mid-run: a restart (an upgrade, a failover)
costs nothing but a reconnect; a server that stays gone is one line that names the database."""

from __future__ import annotations

import pytest

from drills.errors import DrillError, UsageError
from scoreboard.store import open_store
from tests import pgcluster

pytestmark = pytest.mark.postgres


def test_a_restarted_server_is_reconnected_and_no_event_is_lost(postgres: pgcluster.Cluster, postgres_url: str) -> None:
    store = open_store(postgres_url, create=True)
    store.begin_run("r1", "traffic-tango", "d.yaml", "red", [], "q", 1, "lb.tango")
    store.append("r1", "note", "t", "before the restart")
    postgres.restart()
    store.append("r1", "note", "t", "after the restart")
    assert [e.detail for e in store.events("r1")] == ["before the restart", "after the restart"]


def test_a_server_gone_for_good_is_one_line_naming_the_database(postgres: pgcluster.Cluster, postgres_url: str) -> None:
    store = open_store(postgres_url, create=True)
    store.begin_run("r1", "traffic-tango", "d.yaml", "red", [], "q", 1, "lb.tango")
    postgres.halt()
    try:
        with pytest.raises(DrillError) as lost:
            store.append("r1", "note", "t", "while it is down")
    finally:
        postgres.resume()
    said = str(lost.value)
    assert not isinstance(lost.value, UsageError), "mid-run, not the user's input"
    assert "lost the drill database" in said and postgres_url.split("?")[0] in said and "\n" not in said
    store.append("r1", "note", "t", "once it is back")
    assert [e.detail for e in store.events("r1")] == ["once it is back"]
