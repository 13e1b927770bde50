import pytest

from doors.clock import wait_for
from drills.errors import DrillError, StackTimeout


def test_returns_what_was_seen_once_the_condition_holds() -> None:
    answers = iter([(False, "app1=DOWN"), (False, "app1=DOWN"), (True, "app1=UP")])
    assert wait_for("app1 UP", lambda: next(answers), deadline_s=60, interval_s=0) == "app1=UP"


def test_timeout_says_what_it_waited_for_and_what_it_saw() -> None:
    with pytest.raises(StackTimeout) as err:
        wait_for("HAProxy to mark every replica UP", lambda: (False, "app1=UP, app2=DOWN"), deadline_s=0)
    message = str(err.value)
    assert "waiting for HAProxy to mark every replica UP" in message
    assert "last seen: app1=UP, app2=DOWN" in message


def test_errors_from_the_probe_count_as_not_yet_and_are_reported() -> None:
    def probe() -> tuple[bool, str]:
        raise DrillError("runtime API did not answer")

    with pytest.raises(StackTimeout, match="last seen: runtime API did not answer"):
        wait_for("stats", probe, deadline_s=0)
