import random

import pytest

from telemetry.windows import Window, expected_from_weights, jain
from traffic.sample import Sample, percentile, summarize


def sample(at: float, latency_ms: float = 20, status: int = 200, replica: str = "app1", user: int = 0) -> Sample:
    return Sample(at, 0.0, latency_ms / 1000, status, 100, replica, user)


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) == 0.0


def test_jain_index_bounds() -> None:
    assert jain([10, 10, 10]) == pytest.approx(1.0)
    assert jain([30, 0, 0]) == pytest.approx(1 / 3)
    assert jain([20, 10, 0]) == pytest.approx(0.6)  # 30^2 / (3 * 500)


def test_expected_shares_follow_weights_and_ignore_zero_weight() -> None:
    assert expected_from_weights({"app1": 1, "app2": 1, "app3": 2}) == {"app1": 0.25, "app2": 0.25, "app3": 0.5}
    assert expected_from_weights({"app1": 1, "app2": 0}) == {"app1": 1.0, "app2": 0.0}


def test_window_slides_by_completion_time() -> None:
    window = Window(span_s=10, slo_ms=400)
    for t in range(20):
        window.add(sample(float(t)))
    slis = window.slis(now=20.0)
    assert slis.requests == 10 and slis.rate == 1.0  # completions at 10.02 .. 19.02
    assert window.slis(now=40.0).requests == 0


def test_errors_latency_and_starved_replica() -> None:
    expected = {"app1": 1 / 3, "app2": 1 / 3, "app3": 1 / 3}
    window = Window(span_s=10, slo_ms=400, expected_shares=expected)
    for i in range(90):
        replica = "app1" if i % 3 else "app2"  # app3 starved, app1 takes two thirds
        window.add(sample(i * 0.1, latency_ms=900 if i % 10 == 0 else 20, replica=replica))
    window.add(sample(5.0, status=503, replica="app2"))
    slis = window.slis(now=10.0)
    assert slis.requests == 91
    assert slis.error_rate == pytest.approx(1 / 91)
    assert slis.shares["app3"] == 0.0
    assert slis.max_share_skew == pytest.approx(60 / 90 - 1 / 3, abs=0.01)
    assert slis.fairness < 0.75
    assert slis.p99_latency_ms == 900 and slis.p50_latency_ms == 20


def test_audience_affected_counts_users_with_a_failed_or_slow_request() -> None:
    window = Window(span_s=10, slo_ms=400)
    for user in range(10):
        window.add(sample(1.0, user=user))
    window.add(sample(2.0, latency_ms=450, user=3))
    window.add(sample(2.0, status=0, user=7))
    window.add(sample(2.0, status=404, user=8))
    slis = window.slis(now=5.0)
    assert slis.users_active == 10
    assert slis.audience_affected == pytest.approx(0.3)


def test_summary_of_a_load() -> None:
    rows = [sample(i / 100, latency_ms=10 + i, replica=f"app{i % 2 + 1}") for i in range(100)]
    rows.append(Sample(1.0, 0.05, 0.06, 0, 0, "", 1, "ConnectionRefusedError"))
    report = summarize(rows, target_rate=101, duration_s=1.0)
    assert report.requests == 101 and report.errors == 1 and report.late == 1
    assert report.replicas == {"app1": 50, "app2": 50} and report.shares["app1"] == 0.5
    assert report.max_ms == 109
    assert report.achieved_rate == pytest.approx(101 / (1.05 + 1 / 101))  # the late send stretched the span


def test_an_on_time_load_achieves_its_target() -> None:
    rows = [sample(i / 100) for i in range(100)]
    assert summarize(rows, target_rate=100, duration_s=1.0).achieved_rate == pytest.approx(100)


def test_requests_stuck_past_the_slo_count_before_they_complete() -> None:
    window = Window(span_s=5, slo_ms=400)
    for i in range(40):
        window.add(sample(i * 0.1, user=i % 4))
    stuck = [(3.0, 9), (3.2, 9), (3.9, 8)]  # scheduled offsets and users of unanswered requests
    slis = window.slis(now=4.0, in_flight=stuck)
    assert slis.requests == 40, "unanswered requests are not completions"
    assert slis.max_latency_ms == pytest.approx(1000)  # the oldest has waited 1 s so far
    assert slis.users_active == 5 and slis.audience_affected == pytest.approx(1 / 5)  # user 8 is not late yet


def test_bucketed_sums_agree_with_every_sample_counted_one_by_one() -> None:
    """The window keeps sums per bucket; what it reports is what counting each sample says,
    at edges that cut buckets, with answers added out of order and samples on the boundary."""
    rng = random.Random(7)
    rows = [
        Sample(
            rng.uniform(0, 12),
            rng.choice([0.0, 0.02]),
            rng.choice([0.01, 0.3, 0.5, 0.0625]),
            rng.choice([200, 200, 200, 503, 0]),
            2,
            rng.choice(["app1", "app2", ""]),
            rng.randrange(30),
        )
        for _ in range(3000)
    ]
    rows.append(Sample(3.0, 0.0, 0.0, 200, 2, "app1", 99))  # completes exactly at now - span: out
    window = Window(span_s=5, slo_ms=400)
    for row in rows:
        window.add(row)
    now = 8.0
    inside = [s for s in rows if now - 5 < s.completed <= now]
    slis = window.slis(now)
    latencies = sorted(s.latency * 1000 for s in inside)
    assert slis.requests == len(inside) and slis.late_sends == sum(s.late for s in inside)
    assert slis.error_rate == pytest.approx(sum(s.failed for s in inside) / len(inside))
    assert (slis.p50_latency_ms, slis.p99_latency_ms) == (percentile(latencies, 50), percentile(latencies, 99))
    assert slis.users_active == len({s.user for s in inside})
    hurt = {s.user for s in inside if s.failed or s.latency * 1000 > 400}
    assert slis.audience_affected == pytest.approx(len(hurt) / slis.users_active)
    served = [s.replica for s in inside if s.replica]
    assert slis.shares == {name: served.count(name) / len(served) for name in sorted(set(served))}
