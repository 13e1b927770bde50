"""The load generator: raw asyncio streams, HTTP/1.1 keep-alive, one process, one core.

Chosen by measurement (../shared/reference/measurements.md and benchmarks/): raw asyncio
streams are the cheapest Python client per request (about 95 us CPU, 0.67x wrk), aiohttp
costs 2.7x that and httpx cannot reach 1,000 req/s. An open model: a request is due at its
scheduled time whatever the earlier ones are doing; latency runs from that time, and a send
that could not leave on time (no free connection, a busy loop) is counted late.

Any http(s) target: TLS through the stdlib's ssl on the same streams (verified unless the
caller's context says otherwise), one handshake per kept-alive connection, not per request;
on loopback that costs about 40 us CPU more per request than plain HTTP (160 -> 200 us).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable

from traffic.http1 import exchange
from traffic.sample import Sample
from traffic.schedule import Arrivals, Audience
from traffic.target import Target, check_reachable

__all__ = ["Connections", "Generator", "Target", "check_reachable"]

MAX_CONNECTIONS = 256
REQUEST_TIMEOUT_S = 5.0


class Connections:
    """A bounded pool of keep-alive connections; waiting for one makes a send late."""

    def __init__(self, target: Target, context: ssl.SSLContext | None = None, limit: int = MAX_CONNECTIONS) -> None:
        self.target = target
        self._tls = (context or ssl.create_default_context()) if target.tls else None
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(limit)

    async def acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self._slots.acquire()
        if self._idle:
            return self._idle.pop()
        try:
            reader, writer = await asyncio.open_connection(self.target.host, self.target.port, ssl=self._tls)
        except BaseException:
            self._slots.release()
            raise
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    def release(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], reusable: bool) -> None:
        if reusable:
            self._idle.append(conn)
        else:
            conn[1].close()
        self._slots.release()

    async def close(self, timeout_s: float = 1.0) -> None:
        """Close the idle connections and give them a moment to finish (TLS says goodbye first)."""
        writers = [writer for _, writer in self._idle]
        self._idle.clear()
        for writer in writers:
            writer.close()
        if writers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


class Generator:
    """Runs one bounded load: `arrivals` from `audience` against `target`, samples to `on_sample`."""

    def __init__(
        self,
        target: Target,
        arrivals: Arrivals,
        audience: Audience,
        on_sample: Callable[[Sample], None],
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.target = target
        self.context = context
        self.arrivals = arrivals
        self.audience = audience
        self.on_sample = on_sample
        self.sent = 0
        self.in_flight: dict[int, tuple[float, int]] = {}  # request number -> (scheduled offset, user)
        self._host = f"Host: {target.authority}\r\nUser-Agent: drill-load\r\n\r\n".encode()

    async def _one(self, pool: Connections, t0: float, offset: float, user: int, path: str) -> None:
        loop = asyncio.get_running_loop()
        number = self.sent
        self.in_flight[number] = (offset, user)
        due = t0 + offset
        status, size, replica, error, send_delay = 0, 0, "", "", 0.0
        conn = None
        reusable = False
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                conn = await pool.acquire()
                send_delay = loop.time() - due
                request = b"GET " + (self.target.base_path + path).encode() + b" HTTP/1.1\r\n" + self._host
                status, size, replica, reusable = await exchange(*conn, request)
        except TimeoutError:
            error = f"no answer within {REQUEST_TIMEOUT_S:g}s"
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            if conn is not None:
                pool.release(conn, reusable and not error)
            self.in_flight.pop(number, None)
        self.on_sample(Sample(offset, send_delay, loop.time() - due, status, size, replica, user, error))

    async def run(self, deadline_s: float | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Send on schedule; stop at the schedule's end (or when `stop()` says so), then wait
        (bounded) for answers."""
        loop = asyncio.get_running_loop()
        pool = Connections(self.target, self.context)
        pending: set[asyncio.Task[None]] = set()
        t0 = loop.time()
        stop_at = t0 + (deadline_s if deadline_s is not None else self.arrivals.duration_s)
        try:
            for offset in self.arrivals.offsets():
                delay = t0 + offset - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if loop.time() > stop_at or (stop is not None and stop()):
                    break
                step = self.audience.next()
                task = loop.create_task(self._one(pool, t0, offset, step.user, step.path))
                pending.add(task)
                task.add_done_callback(pending.discard)
                self.sent += 1
            if pending:
                await asyncio.wait(pending, timeout=REQUEST_TIMEOUT_S + 1)
        finally:
            for task in pending:
                task.cancel()
            await pool.close()
