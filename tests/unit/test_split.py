"""Splitting one load between generator processes, and the frames that bring their answers back: pure."""

from __future__ import annotations

import pytest

from drills.errors import UsageError
from traffic import wire
from traffic.crowd import Crowd
from traffic.merge import Merge
from traffic.sample import Sample, summarize
from traffic.schedule import Arrivals, Audience
from traffic.split import LoadShare, processes_from, rate_share, viewers


def sends(audience: Audience, offsets: list[float]) -> list[tuple[float, int, str]]:
    """(offset, viewer, path) of every arrival the audience sends for."""
    out = []
    for at in offsets:
        step = audience.next(at)
        if step is not None:
            out.append((at, step.user, step.path))
    return out


@pytest.mark.parametrize(("users", "parts"), [(50, 2), (7, 3), (5, 5), (1, 1)])
def test_every_arrival_is_sent_once_at_its_time_for_its_viewer(users: int, parts: int) -> None:
    offsets = list(Arrivals(300, 1.0, "poisson", seed=4).offsets())
    whole = sends(Audience(users, fixed_path="/health"), offsets)
    split = [sends(Audience(users, fixed_path="/health", part=k, parts=parts), offsets) for k in range(parts)]
    assert sorted(x for part in split for x in part) == sorted(whole)
    for k, part in enumerate(split):  # each process sends for its own viewers only
        assert {user for _, user, _ in part} <= set(viewers(k, parts, users))


def test_a_viewers_journey_stays_in_one_process_and_goes_on_in_order() -> None:
    audience = Audience(4, segments=3, seed=2, part=1, parts=2)
    paths = [step.path for at in range(24) if (step := audience.next(at)) is not None and step.user == 3]
    assert paths[0] == "/api/catalog" and [p.rsplit("/", 1)[1] for p in paths[1:4]] == ["1", "2", "3"]
    assert paths[4] == "/api/catalog", "a journey of 3 segments, then the catalog again"


def test_a_crowd_that_left_is_not_sent_by_any_process() -> None:
    crowd = Crowd(10, seed=1)
    offsets = [i / 50 for i in range(50 * 12)]
    whole = sends(Audience(10, fixed_path="/", crowd=crowd), offsets)
    split = [sends(Audience(10, fixed_path="/", crowd=Crowd(10, seed=1), part=k, parts=2), offsets) for k in range(2)]
    assert sorted(split[0] + split[1]) == sorted(whole) and len(whole) < len(offsets)


def test_the_rate_splits_as_the_viewers_do() -> None:
    assert [rate_share(k, 2, 50, 1000) for k in range(2)] == [500, 500]
    assert [rate_share(k, 3, 7, 700) for k in range(3)] == [300, 200, 200]
    assert [len(viewers(k, 3, 7)) for k in range(3)] == [3, 2, 2]


def test_processes_is_a_count_or_auto() -> None:
    assert processes_from("3", cores=2, rate=100) == 3
    assert processes_from("auto", cores=2, rate=100) == 1, "one process is the cheaper below its own limit"
    assert processes_from(" AUTO ", cores=4, rate=20_000) == 2
    assert processes_from("auto", cores=2, rate=50_000) == 2, "no more than the cores"
    for bad in ("0", "-1", "two", "1.5", "65"):
        with pytest.raises(UsageError, match="--processes must be a whole number from 1 to 64 or 'auto'"):
            processes_from(bad, cores=2, rate=100)


def test_a_share_travels_as_one_json_line() -> None:
    share = LoadShare(
        "https://127.0.0.1:8443/base",
        900.0,
        2.5,
        30,
        "waves",
        7,
        None,
        ("/", "/menu"),
        True,
        "/ca.pem",
        False,
        0,
        3,
        0.15,
        (9.0, 11.0),
    )
    line = share.of(2).to_json()
    assert "\n" not in line
    back = LoadShare.from_json(line)
    assert back == LoadShare(**{**share.__dict__, "part": 2}) and back.journey == ("/", "/menu")
    assert back.waves_every_s == (9.0, 11.0), "each process's crowd keeps the drill's rhythm"
    with pytest.raises(ValueError, match="part 3 of 3"):
        share.of(3)


SAMPLES = [
    Sample(0.0, 0.001, 0.0123456789, 200, 2, "app1", 0),
    Sample(0.5, 0.02, 1.5, 503, 0, "app2", 1, ""),
    Sample(1 / 3, 0.0, 5.0, 0, 0, "", 2, "no answer within 5s"),
    Sample(2.0, 0.0, 0.25, 200, 2**40, "app1", 4_000_000, ""),
]


def test_answers_cross_the_pipe_exactly_in_any_chunks() -> None:
    encoder = wire.Encoder()
    for s in SAMPLES[:2]:
        encoder.record(s)
    data = encoder.take()
    for s in SAMPLES[2:]:
        encoder.record(s)
    data += encoder.take() + wire.in_flight_frame([(1.25, 9)]) + wire.lag_frame(0.3) + wire.done_frame(5, 4)
    assert encoder.answered == 4 and encoder.take() == b""
    decoder = wire.Decoder()
    frames = []
    for i in range(0, len(data), 7):  # a pipe hands over whatever it has
        frames += list(decoder.feed(data[i : i + 7]))
    assert decoder.pending == 0
    kinds = [kind for kind, _ in frames]
    assert kinds == [wire.SAMPLES, wire.SAMPLES, wire.IN_FLIGHT_NOW, wire.LATE_WAKE, wire.DONE]
    got = [s for kind, payload in frames if kind == wire.SAMPLES for s in decoder.samples(payload)]
    assert got == SAMPLES
    assert decoder.in_flight(frames[2][1]) == [(1.25, 9)]
    assert decoder.lag(frames[3][1]) == 0.3 and decoder.done(frames[4][1]) == (5, 4)


def merged(per_process: list[list[Sample]]) -> list[Sample]:
    """What the parent feeds its monitor and report: every process's answers as they arrive."""
    samples: list[Sample] = []
    merge = Merge(len(per_process), samples.append)
    for index, answers in enumerate(per_process):
        encoder = wire.Encoder()
        for s in answers:
            encoder.record(s)
        merge.feed(index, encoder.take() + wire.done_frame(len(answers), encoder.answered))
    assert merge.sent() == sum(len(answers) for answers in per_process)
    return samples


def test_the_report_of_merged_processes_comes_from_every_sample_not_averaged_percentiles() -> None:
    fast = [Sample(i / 100, 0.0, 0.001, 200, 2, "app1", 0) for i in range(0, 200, 2)]
    slow = [Sample(i / 100, 0.02, 0.4, 500 if i % 10 == 1 else 200, 2, "app2", 1) for i in range(1, 200, 2)]
    both = merged([fast, slow])
    report = summarize(both, 100, 2)
    assert sorted(both, key=lambda s: s.scheduled) == sorted(fast + slow, key=lambda s: s.scheduled)
    assert report.requests == 200 and report.late == 100 and report.errors == 20
    assert report.replicas == {"app1": 100, "app2": 100}
    assert report.p50_ms == pytest.approx(1.0) and report.p95_ms == pytest.approx(400.0)
    averaged = (summarize(fast, 50, 2).p95_ms + summarize(slow, 50, 2).p95_ms) / 2
    assert report.p95_ms != pytest.approx(averaged)


def test_answers_that_did_not_all_arrive_are_said_so() -> None:
    merge = Merge(2, lambda sample: None)
    encoder = wire.Encoder()
    encoder.record(SAMPLES[0])
    merge.feed(0, encoder.take() + wire.done_frame(2, 2))  # it recorded 2, sent 1
    merge.feed(1, wire.done_frame(0, 0))
    with pytest.raises(ValueError, match="process 1 recorded 2 answers, 1 arrived"):
        merge.sent()
    unfinished = Merge(2, lambda sample: None)
    unfinished.feed(0, wire.done_frame(0, 0))
    with pytest.raises(ValueError, match="process 2 did not finish"):
        unfinished.sent()


def test_an_answer_that_arrives_leaves_the_in_flight_list() -> None:
    got: list[Sample] = []
    merge = Merge(2, got.append)
    merge.feed(0, wire.in_flight_frame([(0.5, 0), (0.7, 2)]))
    merge.feed(1, wire.in_flight_frame([(0.6, 1)]))
    assert sorted(merge.in_flight()) == [(0.5, 0), (0.6, 1), (0.7, 2)]
    encoder = wire.Encoder()
    encoder.record(Sample(0.5, 0.0, 0.9, 200, 2, "app1", 0))
    merge.feed(0, encoder.take())
    assert sorted(merge.in_flight()) == [(0.6, 1), (0.7, 2)] and got == [Sample(0.5, 0.0, 0.9, 200, 2, "app1", 0)]
    merge.feed(1, wire.in_flight_frame([]))  # its next report: nothing overdue
    assert merge.in_flight() == [(0.7, 2)]


def test_ready_failed_and_late_wakes_are_told_per_process() -> None:
    lags: list[float] = []
    merge = Merge(2, lambda sample: None)
    merge.on_late_wake = lags.append
    merge.feed(0, wire.frame(wire.READY))
    assert not merge.ready
    merge.feed(1, wire.frame(wire.READY) + wire.lag_frame(0.4) + wire.failed_frame("ValueError: bad"))
    assert merge.ready and lags == [0.4] and merge.parts[1].failure == "ValueError: bad"
