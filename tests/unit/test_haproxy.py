from pathlib import Path

import pytest

from doors.balancer import RuntimeApi, parse_stat_csv
from drills.errors import DrillError

SAMPLE = (Path(__file__).parent / "data" / "show_stat.csv").read_text()


def test_parses_server_rows_of_a_real_show_stat() -> None:
    servers = [s for s in parse_stat_csv(SAMPLE) if s.backend == "app"]
    assert [s.name for s in servers] == ["app1", "app2", "app3"]
    assert all(s.up and s.weight == 1 for s in servers)
    assert sum(s.sessions_total for s in servers) >= 12  # drill up's probe went through them


def test_frontends_backends_and_listeners_are_not_servers() -> None:
    names = {s.name for s in parse_stat_csv(SAMPLE)}
    assert not names & {"FRONTEND", "BACKEND"}


def test_down_and_maintenance_are_not_up() -> None:
    header = "# pxname,svname,status,weight,stot,scur,qcur,type,hrsp_2xx\n"
    rows = "app,app1,DOWN,1,0,0,0,2,0\napp,app2,MAINT,0,0,0,0,2,0\napp,app3,UP 1/2,1,5,0,0,2,5\n"
    servers = parse_stat_csv(header + rows)
    assert [s.up for s in servers] == [False, False, True]
    assert servers[2].responses["hrsp_2xx"] == 5


def test_an_error_text_is_not_mistaken_for_stats() -> None:
    with pytest.raises(ValueError, match="not HAProxy stat CSV"):
        parse_stat_csv("Unknown command: 'show stats'\n")


class Flaky(RuntimeApi):
    """The runtime API of a loaded HAProxy: the first `show stat` answers nothing."""

    def __init__(self, answers: list[str]) -> None:
        super().__init__("127.0.0.1", 1)
        self.answers = answers

    def command(self, line: str) -> str:
        return self.answers.pop(0)


def test_a_transient_empty_answer_is_retried_not_fatal() -> None:
    csv = SAMPLE
    assert [s.name for s in Flaky(["", csv]).servers()] == ["app1", "app2", "app3"]
    with pytest.raises(DrillError, match="not HAProxy stat CSV: ''"):
        Flaky(["", "", ""]).servers()
