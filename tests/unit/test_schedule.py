import itertools

import pytest

from traffic.schedule import Arrivals, Audience


def test_constant_arrivals_are_evenly_spaced_and_bounded() -> None:
    offsets = list(Arrivals(rate=500, duration_s=2).offsets())
    assert len(offsets) == 1000
    assert offsets[:3] == [0.0, 0.002, 0.004]
    assert max(offsets) < 2.0


def test_poisson_arrivals_average_the_rate_and_are_reproducible() -> None:
    a = list(Arrivals(rate=200, duration_s=50, model="poisson", seed=7).offsets())
    assert a == list(Arrivals(rate=200, duration_s=50, model="poisson", seed=7).offsets())
    assert abs(len(a) - 10_000) < 400  # 4 standard deviations of a Poisson count
    gaps = [b - x for x, b in itertools.pairwise(a)]
    assert min(gaps) < 0.0005 < 0.02 < max(gaps)  # bursty, unlike constant
    assert all(0 <= x < 50 for x in a)


@pytest.mark.parametrize("bad", [{"rate": 0, "duration_s": 1}, {"rate": 1, "duration_s": 1, "model": "burst"}])
def test_bad_arrivals_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        Arrivals(**bad)


def test_each_user_browses_then_streams_a_title_in_order() -> None:
    audience = Audience(users=2, segments=3, seed=1)
    steps = [audience.next() for _ in range(10)]
    user0 = [s.path for s in steps if s.user == 0]
    assert user0[0] == "/api/catalog"
    title = user0[1].split("/")[2]
    assert user0[1:4] == [f"/stream/{title}/{i}" for i in (1, 2, 3)]
    assert user0[4] == "/api/catalog"  # then browses again
    assert [s.user for s in steps] == [0, 1] * 5


def test_fixed_path_overrides_journeys() -> None:
    audience = Audience(users=3, fixed_path="/health")
    assert {audience.next().path for _ in range(6)} == {"/health"}
