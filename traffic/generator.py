"""The load generator: asyncio Protocols on uvloop, HTTP/1.1 keep-alive, one process.

An open model: a request is due at its scheduled time whatever the earlier ones are doing;
latency runs from that time, and a send that could not leave on time (no free connection,
a busy loop) is counted late. One allowance, for the CPU's sake (issue #15): when the loop is
awake anyway (a timer, an answer), a request due within EARLY_S (4 ms) leaves with that wake,
its latency counted from its send; at a drill's 150 req/s each wake-up costs more than the
request's own work (Pacer).

Chosen by measurement (benchmarks/bench_generator.py, against a local nginx): streams cost
about 100 us CPU per request at 2,000 req/s and held 8,000 req/s on one core; this costs
about 40 us there (17 us near its limit) and holds about 35,000. No task, future, timeout
context or stream per request: the schedule loop hands each due request to an idle connection (a
Protocol that calls back once per answer), a request that finds none waits in a queue (and
is late), and one sweep per tick times out what has waited 5 s.

Any http(s) target: TLS through the stdlib's ssl (verified unless the caller's context says
otherwise), one handshake per kept-alive connection, not per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from traffic.http1 import Connection, connect
from traffic.sample import Sample
from traffic.schedule import Arrivals, Audience
from traffic.target import Target, check_reachable

__all__ = ["Generator", "Target", "check_reachable", "run"]

MAX_CONNECTIONS = 256
REQUEST_TIMEOUT_S = 5.0
TICK_S = 0.002  # the shortest wait for the next due request: sends go in batches at high rates
SWEEP_S = 0.1  # how often requests past their timeout are looked for
WARM_S = 0.002  # connections opened before the start: as many as requests due in this long
MAX_CACHED_REQUESTS = 4096
# The loop's clock has whole milliseconds: a request due at one is due, whatever the float sum
# t0 + offset rounds to (it was left for a wake 2 ms later, about one send in five at a constant rate).
DUE_EPS_S = 1e-6
EARLY_S = 0.004  # awake anyway (a timer, an answer), the loop also sends what is due this soon
LATE_WAKE_S = 0.1  # a wake this late is reported (the monitor judges what counts as a stall)

T = TypeVar("T")

try:  # a faster event loop (libuv), about half the CPU per request; plain asyncio without it
    import uvloop

    def _new_loop() -> asyncio.AbstractEventLoop:
        return uvloop.new_event_loop()

except ImportError:  # pragma: no cover - uvloop is a dependency; this is for odd platforms

    def _new_loop() -> asyncio.AbstractEventLoop:
        return asyncio.new_event_loop()


def nap(now: float, due: float) -> float:
    """How long the schedule loop sleeps, at `now`, for a request due at `due`: whole
    milliseconds rounded up, at least a tick, at most a sweep.

    uvloop keeps time in whole milliseconds and rounds a timer's delay to the nearest one, so
    a 3.4 ms nap woke after 3 ms, before the request was due (174 of 200 times, measured): the
    loop slept again and sent it about 2 ms late, two wake-ups for one send. At a drill's rate
    each wake-up costs more than the request's own work, so rounded up it wakes once, when due."""
    return min(max(math.ceil((due - now) * 1000 - 1e-6) / 1000, TICK_S), SWEEP_S)


class Pacer:
    """Wakes the generator when its next request is due, on the loop's timers: a callback per
    wake, no task, future or coroutine step (at a drill's rate every send is a wake of its
    own, and each one's cost counts). Also sweeps timed-out requests, notices its own late
    wakes (the process was held up), and asks `stop` whether to end early."""

    def __init__(
        self,
        generator: Generator,
        loop: asyncio.AbstractEventLoop,
        t0: float,
        end: float,
        stop: Callable[[], bool] | None,
    ) -> None:
        self.generator, self.loop, self.t0, self.end, self.stop = generator, loop, t0, end, stop
        self.sent_all: asyncio.Future[None] = loop.create_future()  # the schedule is over (or failed)
        self.offsets = iter(generator.arrivals.offsets())
        self.offset = next(self.offsets, None)
        self.next_sweep = t0 + SWEEP_S
        self.meant = max(t0, loop.time())  # when the timer was meant to fire
        self.wakes = 0  # the timer's wake-ups (a send that went with an answer took none)
        self.timer: asyncio.TimerHandle | asyncio.Handle = loop.call_at(self.meant, self.tick)

    def tick(self) -> None:
        try:
            self._tick(self.loop.time())
        except BaseException as exc:  # a callback's error would only be logged: the run learns it
            if not self.sent_all.done():
                self.sent_all.set_exception(exc)

    def _tick(self, now: float) -> None:
        late = now - self.meant
        if late >= LATE_WAKE_S and self.generator.on_late_wake is not None:
            self.generator.on_late_wake(late)
        if self.stop is not None and self.stop():
            self.sent_all.set_result(None)
            return
        self.wakes += 1
        self.offset = self.generator.send_due(self.offsets, self.offset, self.end, now, now + EARLY_S + DUE_EPS_S)
        self._sweep(now)
        self._arm(now)

    def _sweep(self, now: float) -> None:
        if now >= self.next_sweep:
            self.generator.sweep(now)
            self.next_sweep = now + SWEEP_S

    def early(self, now: float) -> None:
        """The loop is awake for an answer: what is due within EARLY_S goes now (its latency
        counts from this send), and its timer's wake-up is saved. At 150 req/s an answer comes
        within 4 ms before about a third of the sends; at thousands a second the loop is awake
        anyway."""
        if self.offset is None or not now < self.t0 + self.offset <= now + EARLY_S or self.sent_all.done():
            return  # nothing due that soon, or overdue: its timer fires now and notices if it is late
        try:
            if self.stop is not None and self.stop():
                return
            self.offset = self.generator.send_due(self.offsets, self.offset, self.end, now, now + EARLY_S + DUE_EPS_S)
            self._sweep(now)  # the timer may not fire for a while: the sweep goes on here too
            self.timer.cancel()
            self._arm(now)
        except BaseException as exc:  # as in tick: the run learns it
            self.sent_all.set_exception(exc)

    def _arm(self, now: float) -> None:
        """The timer for the next due request; the schedule is over when there is none."""
        if self.offset is None or self.offset >= self.end:
            self.sent_all.set_result(None)
            return
        pause = nap(now, self.t0 + self.offset)
        self.meant = now + pause
        self.timer = self.loop.call_later(pause, self.tick)

    def cancel(self) -> None:
        self.timer.cancel()


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the generator's event loop (uvloop when it imports)."""
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        return runner.run(main)


class Job:
    """One scheduled request on its way."""

    __slots__ = ("due", "offset", "request", "send_delay", "user")

    def __init__(self, offset: float, due: float, user: int, request: bytes) -> None:
        self.offset, self.due, self.user, self.request = offset, due, user, request
        self.send_delay = 0.0


class Generator:
    """Runs one bounded load: `arrivals` from `audience` against `target`, samples to `on_sample`."""

    def __init__(
        self,
        target: Target,
        arrivals: Arrivals,
        audience: Audience,
        on_sample: Callable[[Sample], None],
        context: ssl.SSLContext | None = None,
        limit: int = MAX_CONNECTIONS,
    ) -> None:
        self.target = target
        self.arrivals = arrivals
        self.audience = audience
        self.on_sample = on_sample
        self.limit = limit
        self.sent = 0
        self.wakes = 0  # the schedule's timer wake-ups in the last run (Pacer.wakes)
        # Told (seconds late) when the schedule loop wakes LATE_WAKE_S or more after it meant to:
        # the process was held up, whatever the target did. It wakes every few ms, so it sees
        # pauses that fall between two of the monitor's ticks.
        self.on_late_wake: Callable[[float], None] | None = None
        self._tls = (context or ssl.create_default_context()) if target.tls else None
        self._host = f" HTTP/1.1\r\nHost: {target.authority}\r\nUser-Agent: drill-load\r\n\r\n".encode()
        self._requests: dict[str, bytes] = {}
        self._idle: list[Connection] = []
        self._busy: set[Connection] = set()
        self._waiting: deque[Job] = deque()  # due, no connection free yet: oldest first
        self._opening: set[asyncio.Task[None]] = set()
        self._drained: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pacer: Pacer | None = None
        self.t0: float | None = None  # the loop's time at the schedule's start, once started

    def in_flight(self) -> list[tuple[float, int]]:
        """(scheduled offset, user) of every request sent or due and not answered yet."""
        jobs = [conn.job for conn in self._busy]
        return [(j.offset, j.user) for j in jobs if isinstance(j, Job)] + [(j.offset, j.user) for j in self._waiting]

    def _request(self, path: str) -> bytes:
        request = self._requests.get(path)
        if request is None:
            request = b"GET " + (self.target.base_path + path).encode() + self._host
            if len(self._requests) < MAX_CACHED_REQUESTS:
                self._requests[path] = request
        return request

    def _record(self, job: Job, now: float, status: int, size: int, replica: str, error: str) -> None:
        self.on_sample(Sample(job.offset, job.send_delay, now - job.due, status, size, replica, job.user, error))

    def _take_idle(self) -> Connection | None:
        """An idle connection the server has not closed yet (as far as the loop knows)."""
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    def _send(self, conn: Connection, job: Job, now: float) -> None:
        job.send_delay = now - job.due
        conn.job = job
        self._busy.add(conn)
        conn.send(job.request)

    def _answered(self, conn: Connection, status: int, size: int, replica: str, reusable: bool, error: str) -> None:
        job = conn.job
        conn.job = None
        self._busy.discard(conn)
        assert self._loop is not None and isinstance(job, Job)
        now = self._loop.time()
        self._record(job, now, status, size, replica, error)
        if reusable:
            if self._waiting:
                self._send(conn, self._waiting.popleft(), now)
                return
            self._idle.append(conn)
            if self._pacer is not None:
                self._pacer.early(now)
        else:
            conn.close()
            self._pump()
        self._check_drained()

    def _pump(self) -> None:
        """Give waiting requests the idle connections, and open new ones for the rest (bounded)."""
        assert self._loop is not None
        waiting = self._waiting
        while waiting and (conn := self._take_idle()) is not None:
            self._send(conn, waiting.popleft(), self._loop.time())
        while len(waiting) > len(self._opening) and len(self._busy) + len(self._opening) < self.limit:
            task = self._loop.create_task(self._open())
            self._opening.add(task)

    async def _open(self) -> None:
        assert self._loop is not None
        error = ""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                conn = await connect(self.target.host, self.target.port, self._answered, self._tls)
        except TimeoutError:
            error = f"no answer within {REQUEST_TIMEOUT_S:g}s"
        except (OSError, ssl.SSLError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._opening.discard(asyncio.current_task())
        now = self._loop.time()
        if error:
            if self._waiting:  # the oldest waiting request learns why it will not be sent
                self._record(self._waiting.popleft(), now, 0, 0, "", error)
            self._pump()
        elif self._waiting:
            self._send(conn, self._waiting.popleft(), now)
        else:
            self._idle.append(conn)
        self._check_drained()

    def sweep(self, now: float) -> None:
        """Time out what has waited past REQUEST_TIMEOUT_S since it was due: one pass per tick."""
        limit = now - REQUEST_TIMEOUT_S
        error = f"no answer within {REQUEST_TIMEOUT_S:g}s"
        while self._waiting and self._waiting[0].due <= limit:
            self._record(self._waiting.popleft(), now, 0, 0, "", error)
        for conn in [c for c in self._busy if isinstance(c.job, Job) and c.job.due <= limit]:
            job = conn.job
            assert isinstance(job, Job)
            conn.job = None
            self._busy.discard(conn)
            conn.abandon()
            self._record(job, now, 0, 0, "", error)
        self._pump()
        self._check_drained()

    def _outstanding(self) -> bool:
        return bool(self._busy or self._waiting)

    def _check_drained(self) -> None:
        if self._drained is not None and not self._outstanding() and not self._drained.done():
            self._drained.set_result(None)

    async def run(
        self, deadline_s: float | None = None, stop: Callable[[], bool] | None = None, start_at: float | None = None
    ) -> None:
        """Send on schedule; stop at the schedule's end (or when `stop()` says so), then wait
        (bounded) for answers. `start_at` (this loop's time): the schedule starts then, the
        caller has called `warm` (processes sending one load start together)."""
        loop = self._loop = asyncio.get_running_loop()
        if start_at is None:
            await self.warm()
            start_at = loop.time()
        self.t0 = start_at
        end = deadline_s if deadline_s is not None else self.arrivals.duration_s
        pacer = self._pacer = Pacer(self, loop, start_at, end, stop)
        try:
            await pacer.sent_all
            self._pacer = None
            await self._drain(loop.time() + REQUEST_TIMEOUT_S + 1)
        finally:
            self._pacer, self.wakes = None, pacer.wakes
            pacer.cancel()
            await self._close()

    def send_due(
        self, offsets: Iterator[float], offset: float | None, end: float, now: float, horizon: float
    ) -> float | None:
        """Send every request due by `horizon`; the first offset not yet due. One due after
        `now` is sent early: its latency counts from the send, not from its due time."""
        t0, waiting, audience = self.t0, self._waiting, self.audience
        assert t0 is not None
        while offset is not None and t0 + offset <= horizon and offset < end:
            step = audience.next(offset)
            if step is not None:  # None: that viewer is not watching now
                job = Job(offset, min(t0 + offset, now), step.user, self._request(step.path))
                conn = self._take_idle() if not waiting else None
                if conn is not None:
                    self._send(conn, job, now)
                else:
                    waiting.append(job)
                    self._pump()
                self.sent += 1
            offset = next(offsets, None)
        return offset

    async def warm(self) -> None:
        """Open connections before the clock starts, as wrk does (as many as are due in
        WARM_S): at thousands of requests a second, opening them on demand makes the first
        sends late. Bounded: a slow target starts cold and its requests learn why."""
        self._loop = asyncio.get_running_loop()
        count = min(self.limit, int(self.arrivals.rate * WARM_S) + 1)
        tasks = [self._loop.create_task(self._open()) for _ in range(count)]
        self._opening.update(tasks)
        await asyncio.wait(tasks, timeout=1.0)

    async def _drain(self, until: float) -> None:
        assert self._loop is not None
        self._drained = self._loop.create_future()
        self._check_drained()
        while not self._drained.done() and self._loop.time() < until:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._drained), SWEEP_S)
            self.sweep(self._loop.time())

    async def _close(self, timeout_s: float = 1.0) -> None:
        """Close every connection and give them a moment to finish (TLS says goodbye first)."""
        for task in self._opening:
            task.cancel()
        conns = [*self._idle, *self._busy]
        self._idle.clear()
        for conn in self._busy:
            conn.busy = False
        self._busy.clear()
        self._waiting.clear()
        for conn in conns:
            conn.close()
        waits = [conn.closed for conn in conns] + list(self._opening)
        if waits:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await asyncio.gather(*waits, return_exceptions=True)
