"""drill's balancer reload on a fake whose master, like HAProxy 2.6's, drops a reload signal
that comes while it is still reloading, and counts reloads and failures on its master CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import inject
from doors.balancer import MasterStatus, parse_show_proc
from doors.fakes import FakeBalancer
from drills.errors import DrillError
from tests.unit.fakestack import FakeStack, up

SHOW_PROC = """#<PID>          <type>          <reloads>       <uptime>        <version>
1               master          3 [failed: 1]   0d00h02m14s     2.6.12-1+deb12u3
# workers
57              worker          0               0d00h00m08s     2.6.12-1+deb12u3
# programs
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeStack:
    return up(tmp_path, monkeypatch)


def balancer(fake: FakeStack) -> FakeBalancer:
    found = fake.stack.balancer
    assert isinstance(found, FakeBalancer)
    return found


def test_show_proc_gives_the_masters_reloads_and_failures() -> None:
    assert parse_show_proc(SHOW_PROC) == MasterStatus(reloads=3, failed=1)
    with pytest.raises(ValueError, match="not `show proc` output"):
        parse_show_proc("")  # what a master mid-reload leaves on a connection it closes


def test_a_revert_just_after_a_responders_reload_waits_for_it_and_is_not_dropped(fake: FakeStack) -> None:
    target, lb = fake.target, balancer(fake)
    original = target.config_path.read_text()
    inject.inject(target, inject.plan(target, "lb.source-hash", {}))
    target.config_path.write_text(original.replace("balance roundrobin", "balance leastconn"))
    fake.runtime.signal(fake.run_id, "lb", "SIGUSR2")  # the responder's own reload: docker kill -s USR2
    lb.busy_polls = 3  # ... and the master is still busy with it when drill reverts
    reloads = lb.reloads

    inject.revert(target)

    assert lb.dropped == 0, "drill signalled while the master was reloading: HAProxy would drop it"
    assert lb.reloads == reloads + 1 and target.state().algo == "roundrobin"
    assert target.config_path.read_text() == original


def test_a_reload_the_master_counts_as_failed_is_a_one_line_error(fake: FakeStack) -> None:
    target, lb = fake.target, balancer(fake)
    lb.refuses = True
    with pytest.raises(DrillError, match=r"HAProxy could not load .*haproxy\.cfg .*the previous config still serves"):
        target.reload()
    assert lb.failed == 1
