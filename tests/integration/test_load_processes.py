"""Several generator processes (drill load --processes) against a real server on loopback: no Docker,
but real interpreter processes (about 3 s), so here rather than in the seconds-long unit suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from doors.tls import Trust
from drills.errors import DrillError
from orchestration.load import LoadSpec, run_load
from telemetry.windows import Slis
from tests.unit.servers import SelfSigned
from tests.unit.test_generator_loopback import KeepAlive, serve
from tests.unit.test_tls import https_port, pair
from traffic.fleet import Fleet
from traffic.generator import run as run_loop
from traffic.sample import summarize
from traffic.split import LoadShare

__all__ = ["https_port", "pair"]  # the TLS fixtures, shared with tests/unit/test_tls.py


@pytest.fixture()
def url() -> Iterator[str]:
    yield from serve(ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive))


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_two_processes_send_the_whole_schedule_once_and_the_report_merges_every_answer(url: str) -> None:
    ticks: list[Slis] = []
    spec = LoadSpec(url, rps=400, duration_s=0.75, path="/x", users=6, processes=2)
    result = run_load(spec, rules=[], on_tick=ticks.append)
    report = result.report
    assert report.requests == 300 and report.errors == 0 and report.replicas == {"solo": 300}
    # arrival i at i/400 s for viewer i % 6, as one process would send it: viewers 0, 2, 4 from
    # the first process and 1, 3, 5 from the second, none twice, none missing
    assert sorted((s.scheduled, s.user) for s in result.samples) == [(i / 400, i % 6) for i in range(300)]
    assert report == summarize(result.samples, 400, 0.75) and report.bytes == 600
    assert report.late == sum(s.late for s in result.samples)
    assert ticks and ticks[-1].requests > 0, "the monitor was fed the children's answers as they came"


def share(url: str, ca_file: str | None = None) -> LoadShare:
    """200 requests a second for 30 s from 4 viewers, in 2 processes."""
    return LoadShare(url, 200.0, 30.0, 4, "constant", 0, "/x", (), False, ca_file, False, 0, 2, 0.1)


def test_a_child_that_fails_fails_the_load_in_one_line_and_takes_the_others_down(tmp_path: Path) -> None:
    fleet = Fleet(share("https://127.0.0.1:9", str(tmp_path / "missing.pem")), lambda sample: None)
    started = time.monotonic()
    with pytest.raises(DrillError) as failed:
        run_loop(fleet.run())
    message = str(failed.value)
    assert "\n" not in message and message.startswith("load process ")
    assert "failed: --ca-file" in message and "missing.pem: cannot read it" in message
    assert len(fleet.pids) == 2 and all(gone(pid) for pid in fleet.pids)
    assert time.monotonic() - started < 20, "not the whole 30 s load"


def test_ctrl_c_in_the_parent_ends_every_child(url: str) -> None:
    answered = threading.Event()
    fleet = Fleet(share(url), lambda sample: answered.set())

    def interrupt() -> bool:
        if answered.is_set():
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        run_loop(fleet.run(stop=interrupt))
    assert len(fleet.pids) == 2 and all(gone(pid) for pid in fleet.pids)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_ctrl_c_on_drill_load_with_processes_leaves_nothing_running(url: str, tmp_path: Path) -> None:
    """The terminal's Ctrl-C goes to the whole process group: the children ignore it, the
    parent ends them and says so in one line."""
    argv = [sys.executable, "-m", "cli.main", "load", "--url", url, "--path", "/x", "--rps", "200"]
    argv += ["--duration", "60", "--users", "4", "--processes", "2"]
    env = {**os.environ, "DRILL_HOME": str(tmp_path)}
    drill = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        assert drill.stderr is not None
        for line in drill.stderr:  # progress: a tick's line with answers in it, the children are sending
            if b"req/s" in line and float(line.split()[1]) > 0:
                break
        children = children_of(drill.pid)
        assert len(children) == 2
        os.killpg(drill.pid, signal.SIGINT)
        _, err = drill.communicate(timeout=20)
    finally:
        if drill.poll() is None:
            drill.kill()
    assert drill.returncode == 130
    said = err.decode().strip().splitlines()
    assert said[-1] == "drill: error: interrupted: load stopped; nothing was left running"
    assert not any("Traceback" in line or "load process" in line for line in said), said
    assert all(gone(pid) for pid in children)


def test_each_load_process_trusts_the_ca_file_too(pair: SelfSigned, https_port: int) -> None:
    spec = LoadSpec(
        f"https://localhost:{https_port}", rps=100, duration_s=0.3, path="/x", trust=Trust(str(pair.cert)), processes=2
    )
    result = run_load(spec, rules=[])
    assert result.report.requests == 30 and result.report.errors == 0, [s.error for s in result.samples if s.error]
    assert {s.user % 2 for s in result.samples} == {0, 1}, "both processes sent"
