"""Several generator processes sending one load, seen from the parent as one generator.

Each child (`python -m traffic.worker`) sends its share (traffic.split) and streams every
answer back (traffic.wire); traffic.merge turns them into samples for the parent's
`on_sample` (the monitor, the report). All children start their schedules at one instant,
so a sample's `scheduled` offset means the same whichever process sent it.

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
from traffic.merge import Merge
from traffic.sample import Sample
from traffic.split import LoadShare

READY_S = 30.0  # start-up, imports and warm connections of every child (a loaded machine starts Python slowly)
START_MARGIN_S = 0.2  # from telling the children to start to their schedules' start
POLL_S = 0.05
REAP_S = 10.0  # a child that has sent everything exits within this
TAIL_BYTES = 2048


class _Child:
    """One child process: its pipes' state and the tail of what it printed."""

    def __init__(self, part: int, parts: int, process: subprocess.Popen[bytes]) -> None:
        self.name = f"load process {part + 1} of {parts} (pid {process.pid})"
        self.process = process
        self.out_closed = self.err_closed = False
        self.stderr = bytearray()

    def last_words(self) -> str:
        """The last line it printed, or its exit code."""
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
    """`share.parts` processes sending `share`'s load; quacks like traffic.generator.Generator
    for orchestration.load (run, in_flight, on_late_wake, sent, t0)."""

    def __init__(self, share: LoadShare, on_sample: Callable[[Sample], None]) -> None:
        self.share = share
        self.merge = Merge(share.parts, on_sample)
        self.sent = 0
        self.t0: float | None = None
        self._children: list[_Child] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._wake: asyncio.Event | None = None

    @property
    def on_late_wake(self) -> Callable[[float], None] | None:
        return self.merge.on_late_wake

    @on_late_wake.setter
    def on_late_wake(self, callback: Callable[[float], None] | None) -> None:
        self.merge.on_late_wake = callback

    @property
    def pids(self) -> list[int]:
        return [child.process.pid for child in self._children]

    def in_flight(self) -> list[tuple[float, int]]:
        return self.merge.in_flight()

    async def run(self, stop: Callable[[], bool] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            await self._spawn(loop)
            await self._until_ready(loop.time() + READY_S)
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
            try:
                self.sent = self.merge.sent()
            except ValueError as exc:
                raise DrillError(f"load processes: {exc}") from None
        except BaseException:
            self._reap(graceful=False)
            raise
        self._reap(graceful=True)

    async def _spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        parts = self.share.parts
        for index in range(parts):
            process = subprocess.Popen(
                [sys.executable, "-m", "traffic.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            child = _Child(index, parts, process)
            self._children.append(child)
            assert process.stdin is not None and process.stdout is not None and process.stderr is not None
            process.stdin.write(self.share.of(index).to_json().encode() + b"\n")
            process.stdin.flush()
            self._transports.append(
                await self._read(loop, process.stdout, self._frames(index), self._closed(child, "out"))
            )
            self._transports.append(
                await self._read(loop, process.stderr, self._tail(child), self._closed(child, "err"))
            )

    @staticmethod
    async def _read(
        loop: asyncio.AbstractEventLoop, pipe: object, on_data: Callable[[bytes], None], on_close: Callable[[], None]
    ) -> asyncio.BaseTransport:
        transport, _ = await loop.connect_read_pipe(lambda: _Pipe(on_data, on_close), pipe)
        return transport

    def _frames(self, index: int) -> Callable[[bytes], None]:
        def feed(data: bytes) -> None:
            self.merge.feed(index, data)
            part = self.merge.parts[index]
            if part.ready or part.failure:
                self._poke()

        return feed

    def _tail(self, child: _Child) -> Callable[[bytes], None]:
        def keep(data: bytes) -> None:
            child.stderr += data
            del child.stderr[:-TAIL_BYTES]

        return keep

    def _closed(self, child: _Child, pipe: str) -> Callable[[], None]:
        def closed() -> None:
            if pipe == "out":
                child.out_closed = True
            else:
                child.err_closed = True
            self._poke()

        return closed

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _nap(self, seconds: float) -> None:
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _until_ready(self, until: float) -> None:
        loop = asyncio.get_running_loop()
        while not self.merge.ready:
            self._check()
            if loop.time() >= until:
                late = [c.name for c, part in zip(self._children, self.merge.parts, strict=True) if not part.ready]
                raise DrillError(f"{', '.join(late)}: not ready to send within {READY_S:g}s")
            await self._nap(POLL_S)

    def _check(self) -> None:
        """A child that failed, or ended without its last frame, fails the load (once both its
        pipes are closed: its last words have been read by then)."""
        for child, part in zip(self._children, self.merge.parts, strict=True):
            if part.failure:
                raise DrillError(f"{child.name} failed: {part.failure}")
            if child.out_closed and child.err_closed and part.counts is None:
                raise DrillError(f"{child.name} failed: {child.last_words()}")

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
