"""The playback model on an injected clock: start, steady play, stall, recover, give up."""

import pytest

from telemetry.windows import Window
from traffic.playback import Playback, PlayerSpec
from traffic.sample import Sample

# segments of 1 s, a 2 s buffer target, an answer due every 0.25 s per viewer
SPEC = PlayerSpec(interval_s=0.25, segment_s=(1.0, 1.0), buffer_segments=2.0, give_up_s=4.0)


def feed(player: Playback, start: float, end: float, every: float = 0.25, ok: bool = True, user: int = 0) -> float:
    """Answers for `user` every `every` seconds in [start, end); returns the time after the last."""
    t = start
    while t < end - 1e-9:
        player.segment(user, t, ok)
        t += every
    return t


def test_starts_once_a_segment_is_in_and_plays_at_its_target() -> None:
    player = Playback(SPEC, users=1)
    player.segment(0, 0.0, False)
    assert player.state(0) == "starting"
    player.segment(0, 0.1, True)
    assert player.state(0) == "playing"
    feed(player, 0.25, 10.0)  # 1 s of media every 0.25 s: four times real time, capped at the target
    assert player.buffer(0) == pytest.approx(2.0, abs=0.3)
    player.advance(10.0)
    viewing = player.window(5.0, 10.0)
    assert viewing.stalled_s == 0 and not viewing.stalled and viewing.rebuffering_ratio == 0.0
    assert viewing.played_s == pytest.approx(5.0, abs=0.1)


def test_a_gap_longer_than_the_buffer_stalls_and_recovers() -> None:
    player = Playback(SPEC, users=1)
    t = feed(player, 0.0, 5.0)  # playing, buffer at its 2 s target
    player.advance(t + 3.0)  # 3 s without an answer: dry 2 s after the last one
    assert player.state(0) == "stalled" and player.stalls == 1
    feed(player, t + 3.0, t + 3.25)  # one segment resumes it
    assert player.state(0) == "playing"
    viewing = player.window(t, t + 3.25)
    assert viewing.stalled == {0} and not viewing.left
    assert viewing.stalled_s == pytest.approx(1.25, abs=0.1)  # dry at 6.75 (last answer 4.75), resumed at 8.0
    assert viewing.rebuffering_ratio == pytest.approx(viewing.stalled_s / (viewing.stalled_s + viewing.played_s))
    later = feed(player, t + 3.5, t + 12.0)
    assert not player.window(later - 5.0, later).stalled  # five clean seconds later: not affected


def test_a_gap_shorter_than_the_buffer_is_absorbed() -> None:
    player = Playback(SPEC, users=1)
    t = feed(player, 0.0, 5.0)
    player.advance(t + 1.5)
    assert player.state(0) == "playing"
    assert not player.window(0.0, t + 1.5).stalled


def test_lost_segments_within_the_headroom_do_not_stall() -> None:
    player = Playback(SPEC, users=1)
    t = feed(player, 0.0, 5.0)
    for i in range(40):  # two answers in three fail: still 1.33x real time
        player.segment(0, t + i * 0.25, ok=i % 3 == 0)
    assert player.stalls == 0


def test_fetches_slower_than_the_segments_drain_the_buffer_until_it_stalls() -> None:
    player = Playback(SPEC, users=1)
    t = feed(player, 0.0, 5.0)
    for i in range(8):  # 0.8 s a fetch for 1 s segments: the player keeps up
        player.segment(0, t + i * 0.25, True, latency=0.8)
    assert player.state(0) == "playing" and player.buffer(0) > 1.5
    t += 2.0
    for i in range(24):  # 2 s a fetch: half a second of media a second, a 2 s buffer lasts ~4 s
        player.segment(0, t + i * 0.25, True, latency=2.0)
    assert player.stalls >= 1


def test_a_long_stall_makes_the_viewer_give_up_and_start_over() -> None:
    player = Playback(SPEC, users=1)
    t = feed(player, 0.0, 5.0)
    feed(player, t, t + 8.0, ok=False)  # every answer fails: dry after 2 s, gives up 4 s later
    assert player.gave_up == 1 and player.state(0) == "starting"
    assert player.window(t, t + 8.0).left == {0}
    feed(player, t + 8.0, t + 9.0)
    assert player.state(0) == "playing"


def test_segment_lengths_spread_over_the_range_and_buffers_follow() -> None:
    player = Playback(PlayerSpec(segment_s=(1.0, 5.0), buffer_segments=1.5), users=40)
    lengths = sorted(player.segment_length(u) for u in range(40))
    assert lengths[0] >= 1.0 and lengths[-1] <= 5.0
    assert sum(d < 3.0 for d in lengths) == pytest.approx(20, abs=2)
    assert all(player.target(u) == pytest.approx(1.5 * player.segment_length(u)) for u in range(40))


def test_window_counts_viewers_who_stalled_as_affected_not_those_with_one_slow_answer() -> None:
    def s(at: float, user: int, latency_ms: float = 20, status: int = 200) -> Sample:
        return Sample(at, 0.0, latency_ms / 1000, status, 100, "app1", user)

    spec = PlayerSpec(interval_s=0.25, segment_s=(0.5, 1.5), buffer_segments=2.0, give_up_s=10.0)
    window = Window(span_s=5, slo_ms=400, playback=Playback(spec, users=4))
    t = 0.0
    while t < 10.0:  # every viewer: an answer every 0.25 s
        for user in range(4):
            window.add(s(t, user))
        t += 0.25
    window.add(s(10.0, 3, latency_ms=600))  # one slow answer: absorbed by any buffer
    window.add(s(10.0, 1, status=503))  # one failed answer: absorbed too
    slis = window.slis(now=10.7)
    assert slis.audience_affected == 0.0 and slis.rebuffering_ratio == 0.0
    # then nothing more for anyone until 11.6: the viewers with buffers under ~1.8 s stall
    slis = window.slis(now=11.6)
    assert window.playback is not None
    small = {u for u in range(4) if window.playback.target(u) < 1.6}
    assert small == {0, 2} and slis.audience_affected == 0.5
    assert 0 < slis.rebuffering_ratio < 0.5
