"""One generator child process: `python -m traffic.worker`, driven by traffic.fleet.

stdin, lines from the parent: the share (traffic.split.LoadShare as JSON), then `start T`
(T on the machine's monotonic clock: every process starts its schedule at the same instant)
and perhaps `stop` (end early, answers still awaited). The end of stdin, the parent gone,
stops it too, so a child cannot outlive its parent by more than the wait for answers.
stdout: traffic.wire frames: ready, samples, in-flight requests, late wakes, done or failed.

Ctrl-C reaches the whole foreground process group: the child ignores SIGINT and leaves the
decision to the parent, which stops or terminates it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import BinaryIO

from doors.tls import Trust
from drills.errors import DrillError
from traffic import wire
from traffic.crowd import Crowd, WaveSpec
from traffic.generator import Generator, Target
from traffic.generator import run as run_loop
from traffic.schedule import Arrivals, Audience
from traffic.split import LoadShare

FLUSH_S = 0.05  # samples reach the parent in batches this often
IN_FLIGHT_EVERY = 5  # flushes between two reports of overdue in-flight requests
DRAIN_S = 5.0  # the longest a child waits for its last frames to be taken (the parent may be gone)


class Child:
    """The share's generator, its stdin commands and its frames out."""

    def __init__(self, share: LoadShare, out: asyncio.WriteTransport) -> None:
        self.share = share
        self.out = out
        self.encoder = wire.Encoder()
        self.stopping = False
        self.start_at: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        target = Target.parse(share.url)
        context = Trust(share.ca_file, share.insecure).context() if target.tls else None
        crowd = Crowd(share.users, WaveSpec(every_s=share.waves_every_s), seed=share.seed) if share.waves else None
        arrivals = Arrivals(share.rate, share.duration_s, share.model, share.seed)
        audience = Audience(
            share.users,
            seed=share.seed,
            fixed_path=share.path,
            journey=share.journey,
            crowd=crowd,
            part=share.part,
            parts=share.parts,
        )
        self.generator = Generator(target, arrivals, audience, self.encoder.record, context)
        self.generator.on_late_wake = lambda lag: self.out.write(wire.lag_frame(lag))

    def command(self, line: str) -> None:
        word, _, rest = line.strip().partition(" ")
        if word == "start" and not self.start_at.done():
            loop = asyncio.get_running_loop()
            self.start_at.set_result(loop.time() + float(rest) - time.monotonic())
        elif word == "stop":
            self.stopping = True

    def ended(self) -> None:
        """stdin closed: the parent is gone or done with us."""
        self.stopping = True
        if not self.start_at.done():
            self.start_at.cancel()

    def flush(self, in_flight: bool) -> None:
        self.out.write(self.encoder.take())
        if in_flight and (t0 := self.generator.t0) is not None:
            loop = asyncio.get_running_loop()
            oldest = loop.time() - t0 - self.share.overdue_after_s
            entries = [(at, user) for at, user in self.generator.in_flight() if at <= oldest]
            self.out.write(wire.in_flight_frame(entries))

    async def flushing(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(FLUSH_S)
            ticks += 1
            self.flush(ticks % IN_FLIGHT_EVERY == 0)

    async def run(self) -> None:
        await self.generator.warm()
        self.out.write(wire.frame(wire.READY))
        start_at = await self.start_at
        flusher = asyncio.get_running_loop().create_task(self.flushing())
        try:
            await self.generator.run(stop=lambda: self.stopping, start_at=start_at)
        finally:
            flusher.cancel()
        self.flush(False)


class _Commands(asyncio.Protocol):
    def __init__(self, child: Child) -> None:
        self.child, self.buf = child, b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            self.child.command(line.decode())

    def eof_received(self) -> bool | None:
        self.child.ended()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.child.ended()


async def _serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    loop = asyncio.get_running_loop()
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, stdout)
    code = 0
    try:
        share = LoadShare.from_json(stdin.readline().decode())
        child = Child(share, out)
        await loop.connect_read_pipe(lambda: _Commands(child), stdin)
        with contextlib.suppress(asyncio.CancelledError):
            await child.run()
        out.write(wire.done_frame(child.generator.sent, child.encoder.answered))
    except (DrillError, OSError, ValueError) as exc:
        out.write(wire.failed_frame(f"{type(exc).__name__}: {exc}" if not isinstance(exc, DrillError) else str(exc)))
        code = 1
    until = loop.time() + DRAIN_S
    while out.get_write_buffer_size() and loop.time() < until:
        await asyncio.sleep(0.01)
    out.close()
    return code


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = os.fdopen(os.dup(0), "rb", buffering=0)
    stdout = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print goes to stderr, not into the frames
    return run_loop(_serve(stdin, stdout))


if __name__ == "__main__":
    sys.exit(main())
