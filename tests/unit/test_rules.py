import pytest

from drills.rules import RuleError, default_rules, parse_rule
from telemetry.rules import Alerting
from telemetry.windows import Slis


def slis(at: float, p95: float = 20.0, requests: int = 100, error_rate: float = 0.0) -> Slis:
    return Slis(at, 5.0, requests, requests / 5, error_rate, 0, 10.0, p95, p95, p95, {}, {}, 0.0, 1.0, 10, 0.0)


def run(alerting: Alerting, series: list[tuple[float, float]]) -> list[tuple[str, float]]:
    return [(e.kind, e.at) for at, p95 in series for e in alerting.evaluate(slis(at, p95))]


def test_parses_the_drill_file_form() -> None:
    rule = parse_rule("latency", "p95_latency_ms > 400 for 10s", "< 300 for 5s")
    assert (rule.sli, rule.op, rule.threshold, rule.hold_s) == ("p95_latency_ms", ">", 400, 10)
    assert (rule.clear_op, rule.clear_threshold, rule.clear_hold_s) == ("<", 300, 5)
    assert rule.expression == "p95_latency_ms > 400 for 10s"


@pytest.mark.parametrize(
    ("when", "clear", "needle"),
    [
        ("p95 > 400", None, "is not '<sli> <op> <number> for <seconds>s'"),
        ("latency_p95 > 400 for 10s", None, "unknown SLI 'latency_p95'"),
        ("p95_latency_ms > 400 for 10s", "< 500 for 5s", "overlaps the firing condition"),
        ("p95_latency_ms > 400 for 10s", "soon", "clear 'soon' is not"),
        ("p95_latency_ms > 4.0.0 for 3s", None, "is not '<sli> <op> <number> for <seconds>s'"),
        ("p95_latency_ms > 400 for 1..5s", None, "is not '<sli> <op> <number> for <seconds>s'"),
        ("p95_latency_ms > 400 for 10s", "< 3.0.0 for 5s", "clear '< 3.0.0 for 5s' is not"),
    ],
)
def test_bad_rules_say_what_is_right(when: str, clear: str | None, needle: str) -> None:
    with pytest.raises(RuleError, match=needle):
        parse_rule("r", when, clear)


def test_fires_only_after_the_condition_held_for_the_hold_time() -> None:
    alerting = Alerting([parse_rule("lat", "p95_latency_ms > 400 for 3s")])
    series = [(0, 500), (1, 500), (2, 100), (3, 500), (4, 500), (5, 500), (6, 500)]
    assert run(alerting, series) == [("alert_fired", 6)]  # the dip at 2s restarted the hold


def test_clears_with_hysteresis_in_value_and_time() -> None:
    alerting = Alerting([parse_rule("lat", "p95_latency_ms > 400 for 1s", "< 300 for 2s")])
    series = [
        (0, 500),
        (1, 500),
        (2, 350),
        (3, 350),
        (4, 350),
        (5, 250),
        (6, 250),
        (7, 500),
        (8, 250),
        (9, 250),
        (10, 250),
    ]
    events = run(alerting, series)
    assert events == [("alert_fired", 1), ("alert_cleared", 10)]  # 350 is not low enough; 7 broke the clear hold
    assert alerting.firing() == []


def test_too_little_traffic_changes_nothing() -> None:
    alerting = Alerting([parse_rule("err", "error_rate > 0.02 for 0s")])
    assert alerting.evaluate(slis(0, requests=3, error_rate=1.0)) == []
    fired = alerting.evaluate(slis(1, requests=50, error_rate=0.5))
    assert [e.kind for e in fired] == ["alert_fired"]
    assert fired[0].figures["error_rate"] == 0.5 and fired[0].value == 0.5


def test_default_rules_are_valid() -> None:
    assert [r.name for r in default_rules()] == ["high-latency", "errors", "share-skew"]


def test_a_window_in_which_the_load_itself_was_held_up_neither_fires_nor_clears() -> None:
    """A stall of the client's own event loop (late sends, a paused loop) is the machine, not the stack."""
    from dataclasses import replace

    from telemetry.windows import Slis

    rule = parse_rule("high-latency", "p95_latency_ms > 400 for 1s")
    alerting = Alerting([rule])
    slow = Slis(0.0, 5.0, 500, 100.0, 0.0, 350, 20.0, 1265.0, 1600.0, 1600.0, {}, {}, 0.0, 1.0, 40, 0.9, True)
    assert [alerting.evaluate(replace(slow, at=t)) for t in (0.0, 0.5, 1.0, 1.5, 2.0)] == [[]] * 5
    fired = [e for t in (3.0, 3.5, 4.0, 4.5) for e in alerting.evaluate(replace(slow, at=t, held_up=False))]
    assert [e.kind for e in fired] == ["alert_fired"], "the same figures from a healthy client do fire"


def test_the_monitor_marks_a_stall_of_its_own_loop_for_one_window() -> None:
    from telemetry.monitor import Monitor
    from telemetry.windows import Window

    monitor = Monitor(Window(5.0, 400.0), Alerting([]), [])
    monitor.loop_lag(10.0, 0.05)
    assert monitor.evaluate(10.2) == [] and monitor.latest is not None and not monitor.latest.held_up
    monitor.loop_lag(11.0, 1.2)  # woke 1.2 s late: the loop was blocked
    assert monitor.stalls == 1
    monitor.evaluate(15.9)
    assert monitor.latest is not None and monitor.latest.held_up
    monitor.evaluate(16.1)
    assert monitor.latest is not None and not monitor.latest.held_up, "clean once the window has moved past it"


def test_one_pause_reported_by_the_generator_and_the_monitor_counts_once() -> None:
    from telemetry.monitor import Monitor
    from telemetry.windows import Window

    monitor = Monitor(Window(5.0, 400.0), Alerting([]), [])
    monitor.loop_lag(11.0, 0.9)  # the generator's schedule loop woke 0.9 s late at 11.0
    monitor.loop_lag(11.1, 0.6)  # the monitor's tick, held up by the same pause
    assert monitor.stalls == 1
    monitor.loop_lag(20.0, 0.3)  # another pause, later
    assert monitor.stalls == 2
    monitor.evaluate(24.9)
    assert monitor.latest is not None and monitor.latest.held_up
