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
