"""How the generator's schedule wakes: whole-millisecond naps, and sends that go with an answer.

At a drill's rate (150 req/s) every send is a wake-up of its own, and on a virtual machine a
wake-up costs more than the request's own work (issue #15): these pin the two ways the
generator saves them: against a real keep-alive server on loopback, and the Pacer alone in
front of a fake sender."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import cast

import pytest

from tests.unit.test_generator_loopback import KeepAlive, serve
from traffic import generator
from traffic.generator import SWEEP_S, TICK_S, Generator, Pacer, nap
from traffic.sample import Sample
from traffic.schedule import Arrivals, Audience
from traffic.target import Target


def test_a_nap_is_whole_milliseconds_rounded_up_at_least_a_tick_at_most_a_sweep() -> None:
    assert nap(10.0, 10.0034) == pytest.approx(0.004)
    assert nap(10.0, 10.003) == pytest.approx(0.003), "a whole millisecond is not rounded up to the next"
    assert nap(10.0, 10.0001) == TICK_S
    assert nap(10.0, 99.0) == SWEEP_S


def test_a_nap_on_the_generators_loop_never_wakes_before_the_request_is_due() -> None:
    """uvloop rounds a timer to the nearest millisecond: an unrounded 3.4 ms nap wakes at 3 ms."""
    rng = random.Random(7)

    async def early_wakes() -> int:
        loop, early = asyncio.get_running_loop(), 0
        for _ in range(30):
            now = loop.time()
            due = now + TICK_S + rng.random() * 0.004
            await asyncio.sleep(nap(now, due))
            early += loop.time() < due
        return early

    assert generator.run(early_wakes()) == 0


@pytest.fixture()
def keep_alive_url() -> Iterator[str]:
    from http.server import ThreadingHTTPServer

    yield from serve(ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive))


def load(url: str, rps: float, duration_s: float) -> tuple[Generator, list[Sample]]:
    samples: list[Sample] = []
    gen = Generator(Target.parse(url), Arrivals(rps, duration_s), Audience(5, fixed_path="/x"), samples.append)
    generator.run(gen.run())
    return gen, samples


def test_a_request_due_soon_after_an_answer_goes_with_it(keep_alive_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One request every 10 ms, EARLY_S widened to 20 ms (so a loaded machine's slow answers
    still come before the next is due), a server answering in about a millisecond: each next
    request goes with the answer before it, so the schedule's timer wakes far less often than
    once a send (without EARLY_S it wakes once a send: the Pacer tests below). Every request
    still goes once, on its planned offset, none counted late."""
    monkeypatch.setattr(generator, "EARLY_S", 0.02)
    gen, samples = load(keep_alive_url, 100, 0.25)
    assert len(samples) == 25 and all(s.status == 200 for s in samples)
    assert sorted(s.scheduled for s in samples) == pytest.approx([i / 100 for i in range(25)])
    assert gen.wakes < 25 / 2, f"{gen.wakes} timer wake-ups for 25 sends"
    assert all(s.latency >= 0 and s.send_delay >= 0 for s in samples)


class Sender:
    """The Pacer's view of a generator: sends whatever is due by the horizon it is given, and
    records its sweeps."""

    on_late_wake = None

    def __init__(self, arrivals: Arrivals, t0: float) -> None:
        self.arrivals, self.t0, self.sent = arrivals, t0, 0
        self.swept: list[float] = []

    def send_due(
        self, offsets: Iterator[float], offset: float | None, end: float, now: float, horizon: float
    ) -> float | None:
        while offset is not None and self.t0 + offset <= horizon and offset < end:
            self.sent, offset = self.sent + 1, next(offsets, None)
        return offset

    def sweep(self, now: float) -> None:
        self.swept.append(now)


def test_requests_past_their_timeout_are_swept_while_every_send_goes_with_an_answer() -> None:
    """Sends that go with answers keep the schedule's timer from firing (each one moves it): the
    sweep of requests past their timeout must not wait for it. 300 ms of answers, each just
    before the next send is due, and never a timer: still a sweep every SWEEP_S."""

    async def answers() -> Sender:
        loop = asyncio.get_running_loop()
        fake = Sender(Arrivals(1000, 1.0), loop.time() + 10.0)  # the timer is never due while the answers come
        pacer = Pacer(cast(Generator, fake), loop, fake.t0, 1.0, None)
        for k in range(300):
            pacer.early(fake.t0 + k / 1000 - 0.0005)
        pacer.cancel()
        assert pacer.wakes == 0 and fake.sent >= 300
        return fake

    assert len(generator.run(answers()).swept) == 2, "a sweep at 0.1 s and 0.2 s of the 0.3 s"


@pytest.mark.parametrize(("early_s", "fewest", "most"), [(0.0, 30, 40), (0.006, 10, 21)])
def test_a_timer_wake_sends_what_is_due_within_early_s_too(
    early_s: float, fewest: int, most: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answers at all: a wake for a request due now also sends the next, due 5 ms later,
    when EARLY_S covers it, so 40 sends take about 20 wakes, not 40 (a late wake on a busy
    machine finds more due, hence the ranges). Without EARLY_S, one wake a send and no more:
    a request due exactly on one of the loop's milliseconds is due (DUE_EPS_S; without it
    40 sends took 42-58 wakes in most runs)."""
    monkeypatch.setattr(generator, "EARLY_S", early_s)

    async def schedule() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        fake = Sender(Arrivals(200, 0.2), loop.time())  # one every 5 ms
        pacer = Pacer(cast(Generator, fake), loop, fake.t0, 0.2, None)
        await pacer.sent_all
        return fake.sent, pacer.wakes

    sent, wakes = generator.run(schedule())
    assert sent == 40 and fewest <= wakes <= most
