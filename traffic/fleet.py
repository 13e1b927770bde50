"""Several generator processes sending one load, seen from the parent as one generator.

Each child (`python -m traffic.worker`) sends its share (traffic.split) and streams every
answer back (traffic.wire); the parent turns them into samples for its `on_sample` (the
monitor, the report), in the order they arrive. All children start their schedules at one
instant, so a sample's `scheduled` offset means the same whichever process sent it.

The monitor asks `in_flight()` for unanswered requests: each child reports its own that are
near the SLO every quarter second, and the parent drops one from that list as soon as its
answer arrives.

Nothing outlives the load: a child whose stdin closes stops (so a parent that dies takes its
children with it), a failed child stops the others and the load fails with one line naming
it, and Ctrl-C (which the children ignore) ends them from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable

from drills.errors import DrillError
from traffic import wire
from traffic.sample import Sample
from traffic.split import LoadShare

READY_S = 30.0  # start-up, imports and warm connections of every child (a loaded machine starts Python slowly)
START_MARGIN_S = 0.2  # from telling the children to start to their schedules' start
POLL_S = 0.05
REAP_S = 10.0  # a child that has sent everything exits within this
TAIL_BYTES = 2048


class _Child:
    """One child process and what the parent knows of it."""

    def __init__(self, part: int, parts: int, process: subprocess.Popen[bytes]) -> None:
        self.name = f"load process {part + 1} of {parts} (pid {process.pid})"
        self.process = process
        self.decoder = wire.Decoder()
        self.ready = False
        self.counts: tuple[int, int] | None = None  # (sent, answered), from its last frame
        self.failure = ""
        self.received = 0
        self.out_closed = self.err_closed = False
        self.stderr = bytearray()
        self.in_flight: dict[float, int] = {}  # scheduled offset -> user, overdue and unanswered

    def why(self) -> str:
        """One line: what the child said, or the last line it printed, or its exit code."""
        if self.failure:
            return self.failure
        lines = [line for line in self.stderr.decode(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
        code = self.process.poll()
        return f"exited with code {code}" if code is not None else "closed its output without finishing"


class _Pipe(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], on_close: Callable[[], None]) -> None:
        self.on_data, self.on_close = on_data, on_close

    def data_received(self, data: bytes) -> None:
        self.on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_close()


class Fleet:
    """`parts` processes sending `share`'s load; quacks like traffic.generator.Generator for
    orchestration.load (run, in_flight, on_late_wake, sent, t0)."""

    def __init__(self, share: LoadShare, on_sample: Callable[[Sample], None]) -> None:
        self.share = share
        self.on_sample = on_sample
        self.on_late_wake: Callable[[float], None] | None = None
        self.sent = 0
        self.t0: float | None = None
        self._children: list[_Child] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._wake: asyncio.Event | None = None

    def in_flight(self) -> list[tuple[float, int]]:
        return [(at, user) for child in self._children for at, user in child.in_flight.items()]

    async def run(self, stop: Callable[[], bool] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            await self._spawn(loop)
            await self._until(lambda: all(c.ready for c in self._children), READY_S, "ready to send")
            start = time.monotonic() + START_MARGIN_S
            self.t0 = loop.time() + (start - time.monotonic())
            self._tell(f"start {start!r}")
            stopping = False
            while not all(c.out_closed and c.err_closed for c in self._children):
                if stop is not None and not stopping and stop():
                    self._tell("stop")
                    stopping = True
                await self._nap(POLL_S)
                self._check()
            self._check()
            self.sent = self._account()
        except BaseException:
            self._reap(graceful=False)
            raise
        self._reap(graceful=True)

    async def _spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        parts = self.share.parts
        for part in range(parts):
            process = subprocess.Popen(
                [sys.executable, "-m", "traffic.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            child = _Child(part, parts, process)
            self._children.append(child)
            assert process.stdin is not None and process.stdout is not None and process.stderr is not None
            process.stdin.write(self.share.of(part).to_json().encode() + b"\n")
            process.stdin.flush()
            out, _ = await loop.connect_read_pipe(
                lambda c=child: _Pipe(lambda data: self._frames(c, data), lambda: self._closed(c, "out")),  # type: ignore[misc]
                process.stdout,
            )
            err, _ = await loop.connect_read_pipe(
                lambda c=child: _Pipe(lambda data: self._tail(c, data), lambda: self._closed(c, "err")),  # type: ignore[misc]
                process.stderr,
            )
            self._transports += [out, err]

    def _frames(self, child: _Child, data: bytes) -> None:
        decoder = child.decoder
        for kind, payload in decoder.feed(data):
            if kind == wire.SAMPLES:
                in_flight, on_sample = child.in_flight, self.on_sample
                before = len(payload) // wire.RECORD.size
                for sample in decoder.samples(payload):
                    if in_flight:
                        in_flight.pop(sample.scheduled, None)
                    on_sample(sample)
                child.received += before
            elif kind == wire.IN_FLIGHT_NOW:
                child.in_flight = dict(decoder.in_flight(payload))
            elif kind == wire.LATE_WAKE:
                if self.on_late_wake is not None:
                    self.on_late_wake(decoder.lag(payload))
            elif kind == wire.READY:
                child.ready = True
                self._poke()
            elif kind == wire.DONE:
                child.counts = decoder.done(payload)
            elif kind == wire.FAILED:
                child.failure = payload.decode(errors="replace")
                self._poke()

    def _tail(self, child: _Child, data: bytes) -> None:
        child.stderr += data
        del child.stderr[:-TAIL_BYTES]

    def _closed(self, child: _Child, which: str) -> None:
        if which == "out":
            child.out_closed = True
        else:
            child.err_closed = True
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _nap(self, seconds: float) -> None:
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _until(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout_s
        while not condition():
            self._check()
            if loop.time() >= until:
                late = [c.name for c in self._children if not c.ready]
                raise DrillError(f"{', '.join(late)}: not {what} within {timeout_s:g}s")
            await self._nap(POLL_S)

    def _check(self) -> None:
        """A child that failed, or ended without its last frame, fails the load (once its
        stderr is closed too: its last words are read by then)."""
        for child in self._children:
            if child.failure or (child.out_closed and child.err_closed and child.counts is None):
                raise DrillError(f"{child.name} failed: {child.why()}")

    def _account(self) -> int:
        """Every answer a child counted reached the parent; the requests sent by all."""
        sent = 0
        for child in self._children:
            assert child.counts is not None
            child_sent, answered = child.counts
            if answered != child.received or child.decoder.pending:
                raise DrillError(f"{child.name}: recorded {answered} answers, the parent got {child.received}")
            sent += child_sent
        return sent

    def _tell(self, line: str) -> None:
        for child in self._children:
            stdin = child.process.stdin
            with contextlib.suppress(OSError):  # a child that is gone has said why on stdout
                assert stdin is not None
                stdin.write(line.encode() + b"\n")
                stdin.flush()

    def _reap(self, graceful: bool) -> None:
        """Close stdins (a child stops then), give them REAP_S (graceful) or end them now."""
        for child in self._children:
            with contextlib.suppress(OSError):
                assert child.process.stdin is not None
                child.process.stdin.close()
        for child in self._children:
            process = child.process
            if not graceful and process.poll() is None:
                process.terminate()
            try:
                process.wait(REAP_S if graceful else 1.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for transport in self._transports:
            transport.close()
