"""The audience in waves (traffic.crowd): who watches when, what the senders skip, and what the
players make of a viewer who left with the crowd (neither playing nor stalled)."""

import itertools

import pytest

from traffic.crowd import Crowd, WaveSpec
from traffic.playback import Playback, PlayerSpec
from traffic.schedule import Audience

SPEC = WaveSpec(every_s=(10.0, 10.0), arrive_s=1.0, crowd_s=4.0, leave_s=1.0, regulars=0.25)


def test_the_crowd_arrives_at_each_start_and_leaves_while_regulars_stay() -> None:
    crowd = Crowd(8, SPEC)
    assert crowd.starts(25) == [0.0, 10.0, 20.0]
    sizes = {at: crowd.size(at) for at in (0.0, 0.5, 2.0, 4.5, 6.0, 9.9, 12.0, 16.0)}
    assert sizes == {0.0: 3, 0.5: 6, 2.0: 8, 4.5: 4, 6.0: 2, 9.9: 2, 12.0: 8, 16.0: 2}
    assert all(crowd.watching(2, at / 4) and crowd.watching(6, at / 4) for at in range(100))  # every 4th: regulars


def test_uneven_starts_are_seeded() -> None:
    wide = WaveSpec(every_s=(8.0, 12.0), arrive_s=1.0, crowd_s=4.0, leave_s=1.0)
    a, b = Crowd(10, wide, seed=4).starts(200), Crowd(10, wide, seed=4).starts(200)
    gaps = [y - x for x, y in itertools.pairwise(a)]
    assert a == b and all(8 <= g <= 12 for g in gaps) and len(set(gaps)) > 5
    assert Crowd(10, wide, seed=5).starts(200) != a


@pytest.mark.parametrize(
    "bad",
    [{"every_s": (0.0, 1.0)}, {"every_s": (5.0, 4.0)}, {"arrive_s": 5.0, "crowd_s": 4.0}, {"regulars": 1.5}],
)
def test_bad_waves_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        WaveSpec(**{"every_s": (10.0, 10.0), "crowd_s": 4.0, **bad})


def test_the_senders_skip_viewers_who_are_not_watching() -> None:
    """The schedule is the whole audience's; a slot of a viewer who left sends nothing, so the
    request rate follows the crowd while each watching viewer keeps its pace."""
    audience = Audience(users=8, crowd=Crowd(8, SPEC))
    at_peak = [audience.next(2.0) for _ in range(8)]
    between = [audience.next(7.0) for _ in range(8)]
    assert all(step is not None for step in at_peak)
    assert [step.user for step in between if step is not None] == [2, 6]


def test_a_viewer_who_leaves_is_neither_playing_nor_stalled_and_starts_afresh() -> None:
    crowd = Crowd(4, WaveSpec(every_s=(10.0, 10.0), arrive_s=0.0, crowd_s=4.0, leave_s=0.0, regulars=0.25))
    player = Playback(PlayerSpec(interval_s=0.25, segment_s=(1.0, 1.0), give_up_s=3.0), 4, watching=crowd.watching)
    t = 0.0
    while t < 4.0:  # user 3 of the crowd plays while the title runs
        player.segment(3, t, True)
        t += 0.25
    assert player.state(3) == "playing"
    player.advance(9.5)  # gone with the crowd at 4 s: no answers for 5.5 s, yet no stall, no give-up
    viewing = player.window(4.0, 9.5)
    assert player.state(3) == "starting" and 3 not in viewing.stalled | viewing.left and player.stalls == 0
    player.segment(3, 10.2, True)  # back for the next title: a fresh start
    assert player.state(3) == "playing" and 3 not in player.window(9.5, 10.2).left
