"""A small streaming-platform replica for drill's reference stack.

Standard library only, so it runs on any base image with python3. HTTP/1.1 with
keep-alive on an asyncio Protocol (one write per response and TCP_NODELAY: stock
http.server stalls ~44 ms per keep-alive response on Nagle, which looks like a fault).
Cheap per request, as eight stacks share two cores: no task, stream or lock per request
on the common path (a segment of a title whose metadata was read from the database in
the last TITLE_TTL_S); the database is asked for the catalog on every browse and for a
title's metadata at most once per TITLE_TTL_S per replica.

Finite capacity, as the drill needs: at most CAPACITY requests in service at once,
each taking SERVICE_MS; up to QUEUE more wait their turn (real queueing latency);
beyond that the replica answers 503 at once. /health and /metrics bypass the queue.

Beside it, in the same directory: replica_agent.py (the load-feedback agent on AGENT_PORT that
lb.tango turns on), replica_log.py (what `docker logs` shows), replica_metrics.py (/metrics).

Settings (environment): REPLICA_NAME, PORT, AGENT_PORT, CAPACITY, SERVICE_MS, QUEUE,
SEGMENT_BYTES, REDIS_HOST, REDIS_PORT, TITLE_TTL_S.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import signal
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine

from replica_agent import agent
from replica_log import reporter
from replica_metrics import Metrics

NAME = os.environ.get("REPLICA_NAME", socket.gethostname())
PORT = int(os.environ.get("PORT", "8080"))
AGENT_PORT = int(os.environ.get("AGENT_PORT", "9100"))
CAPACITY = int(os.environ.get("CAPACITY", "8"))
SERVICE_MS = float(os.environ.get("SERVICE_MS", "20"))
QUEUE = int(os.environ.get("QUEUE", "32"))
SEGMENT_BYTES = int(os.environ.get("SEGMENT_BYTES", "16384"))
REDIS_HOST = os.environ.get("REDIS_HOST", "db")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
TITLE_TTL_S = float(os.environ.get("TITLE_TTL_S", "1.0"))
SLOW_DB_S = 0.01

TITLES = {
    "ocean-drift": "Ocean Drift",
    "night-shift": "Night Shift",
    "city-lights": "City Lights",
    "the-long-tango": "The Long Tango",
    "mountain-echo": "Mountain Echo",
}
Reply = Callable[[str, int, bytes, str], None]  # route label, status, body, content type
MAX_HEAD_BYTES = 65536
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}


METRICS = Metrics(NAME)


class Capacity:
    """CAPACITY slots in service, a QUEUE of waiters (first come, first served), 503 beyond.

    Timers and callbacks, no task per request: a request takes a free slot or waits its turn,
    holds the slot SERVICE_MS, then `then` runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, slots: int, queue: int, service_s: float) -> None:
        self._loop = loop
        self._free = slots
        self._queue_limit = queue
        self._service_s = service_s
        self._waiting: deque[tuple[float, Callable[[], None]]] = deque()

    def full(self) -> bool:
        return self._free <= 0 and len(self._waiting) >= self._queue_limit

    def serve(self, then: Callable[[], None]) -> None:
        if self._free > 0 and not self._waiting:
            self._start(0.0, then)
        else:
            self._waiting.append((time.monotonic(), then))
            METRICS.queue_depth = len(self._waiting)

    def _start(self, waited: float, then: Callable[[], None]) -> None:
        METRICS.second_waits.append(waited)
        self._free -= 1
        METRICS.in_flight += 1
        self._loop.call_later(self._service_s, self._done, then)

    def _done(self, then: Callable[[], None]) -> None:
        METRICS.in_flight -= 1
        self._free += 1
        if self._waiting:
            queued, turn = self._waiting.popleft()
            METRICS.queue_depth = len(self._waiting)
            self._start(time.monotonic() - queued, turn)
        then()


class Redis:
    """Just enough RESP for GET and SET NX over one reconnecting connection."""

    def __init__(self, host: str, port: int) -> None:
        self._addr = (host, port)
        self._lock = asyncio.Lock()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def command(self, *args: str) -> bytes | None:
        async with self._lock:
            try:
                async with asyncio.timeout(2.0):  # no task per call, as wait_for would make
                    started = time.monotonic()
                    answer = await self._roundtrip(args)
                    took = time.monotonic() - started
                    if took > SLOW_DB_S:
                        METRICS.second_slow_db.append((" ".join(args[:2]), took))
                    return answer
            except (TimeoutError, OSError, ConnectionError, RuntimeError):
                self._close()
                raise ConnectionError("database unavailable") from None

    async def _roundtrip(self, args: tuple[str, ...]) -> bytes | None:
        if self._streams is None:
            self._streams = await asyncio.open_connection(*self._addr)
        reader, writer = self._streams
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        writer.write(b"".join(parts))
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        return rest

    def _close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
        self._streams = None


class Service:
    """Routes a request to its answer, given to `reply` (now, or once the replica has served it)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.capacity = Capacity(loop, CAPACITY, QUEUE, SERVICE_MS / 1000.0)
        self.db = Redis(REDIS_HOST, REDIS_PORT)
        self.titles: dict[str, float] = {}  # title -> monotonic time its metadata was last read from the database
        self._tasks: set[asyncio.Task[None]] = set()

    async def seed(self) -> None:
        """Seed the catalog once per stack (SET NX), retrying until the database answers."""
        catalog = json.dumps([{"id": k, "title": v} for k, v in TITLES.items()])
        for _ in range(300):
            try:
                await self.db.command("SET", "catalog", catalog, "NX")
                for key, title in TITLES.items():
                    await self.db.command("SET", f"title:{key}", json.dumps({"title": title, "segments": 100}), "NX")
                return
            except ConnectionError:
                await asyncio.sleep(0.2)

    def route(self, path: str, reply: Reply) -> None:
        if path == "/health":
            body = json.dumps({"replica": NAME, "in_flight": METRICS.in_flight, "queued": METRICS.queue_depth})
            reply("health", 200, body.encode(), "application/json")
        elif path == "/metrics":
            reply("metrics", 200, METRICS.render().encode(), "text/plain; version=0.0.4")
        elif path == "/api/catalog":
            self._limited("catalog", reply, lambda: self._spawn(self._catalog(reply)))
        elif path.startswith("/stream/") and len(parts := path.split("/")) == 4 and parts[3].isdigit():
            self._limited("stream", reply, lambda: self._segment(parts[2], int(parts[3]), reply))
        else:
            reply("other", 404, b'{"error": "not found"}', "application/json")

    def _limited(self, label: str, reply: Reply, then: Callable[[], None]) -> None:
        if self.capacity.full():
            METRICS.rejected += 1
            METRICS.second_rejected += 1
            reply(label, 503, b'{"error": "replica over capacity"}', "application/json")
        else:
            self.capacity.serve(then)

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        task = self.loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _catalog(self, reply: Reply) -> None:
        try:
            data = await self.db.command("GET", "catalog")
        except ConnectionError:
            reply("catalog", 503, b'{"error": "database unavailable"}', "application/json")
            return
        reply("catalog", 200, data or b"[]", "application/json")

    def _segment(self, title: str, segment: int, reply: Reply) -> None:
        """The title's metadata is read from the database at most once per TITLE_TTL_S (a
        replica's in-process cache), so the database sees fewer GETs, still moving with traffic."""
        read = self.titles.get(title)
        if read is not None and time.monotonic() - read < TITLE_TTL_S:
            reply("stream", 200, segment_body(title, segment), "video/mp2t")
        else:
            self._spawn(self._segment_after_lookup(title, segment, reply))

    async def _segment_after_lookup(self, title: str, segment: int, reply: Reply) -> None:
        try:
            found = await self.db.command("GET", f"title:{title}") is not None
        except ConnectionError:
            reply("stream", 503, b'{"error": "database unavailable"}', "application/json")
            return
        if not found:
            self.titles.pop(title, None)
            reply("stream", 404, b'{"error": "unknown title"}', "application/json")
            return
        self.titles[title] = time.monotonic()
        reply("stream", 200, segment_body(title, segment), "video/mp2t")


def segment_body(title: str, segment: int) -> bytes:
    seed = f"{title}:{segment}:".encode()
    return (seed * (SEGMENT_BYTES // len(seed) + 1))[:SEGMENT_BYTES]


def parse_request(buffer: bytes) -> tuple[str, str, bool, int] | None:
    """(method, path, keep_alive, bytes used) of the first whole request in `buffer`; None
    while it is incomplete; ValueError when it is not HTTP or its head is too long."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise ValueError("request head too long")
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    method, path, version = ([*lines[0].split(" "), "", "", ""])[:3]
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
    used = end + 4 + int(headers.get("content-length", "0") or 0)
    if len(buffer) < used:
        return None
    conn = headers.get("connection", "").lower()
    keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
    return method, path.split("?", 1)[0], keep_alive, used


def response(status: int, body: bytes, ctype: str, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"X-Served-By: {NAME}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode() + body


class HttpConnection(asyncio.Protocol):
    """One client connection, HTTP/1.1 with keep-alive: requests are parsed from the bytes as
    they arrive and answered in order, each answer in one write."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.busy = False  # a request is being answered; later ones wait in the buffer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        METRICS.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def _next(self) -> None:
        try:
            request = parse_request(self.buffer)
        except ValueError:
            request = None
            self.buffer = b""
            if self.transport is not None:
                self.transport.close()
        if request is None:
            return
        method, path, keep_alive, used = request
        self.buffer = self.buffer[used:]
        self.busy = True
        started = time.monotonic()

        def reply(label: str, status: int, body: bytes, ctype: str) -> None:
            METRICS.observe(label, status, time.monotonic() - started)
            self._answer(response(status, b"" if method == "HEAD" else body, ctype, keep_alive), keep_alive)

        if method in ("GET", "HEAD"):
            self.service.route(path, reply)
        else:
            reply("other", 400, b'{"error": "GET only"}', "application/json")

    def _answer(self, data: bytes, keep_alive: bool) -> None:
        self.busy = False
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        if not keep_alive:
            transport.close()
        elif self.buffer:
            self._next()


async def main() -> None:
    loop = asyncio.get_running_loop()
    service = Service(loop)
    server = await loop.create_server(lambda: HttpConnection(service), "0.0.0.0", PORT, backlog=1024)
    feedback = await asyncio.start_server(functools.partial(agent, NAME), "0.0.0.0", AGENT_PORT)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    seeding = asyncio.create_task(service.seed())
    reporting = asyncio.create_task(reporter(random.Random(NAME), METRICS, f"{QUEUE} waiting, {CAPACITY} in service"))
    print(f"{NAME}: serving on :{PORT} capacity={CAPACITY} service_ms={SERVICE_MS} queue={QUEUE}", flush=True)
    async with server:
        await stop.wait()
    seeding.cancel()
    reporting.cancel()
    feedback.close()


def event_loop() -> type[asyncio.AbstractEventLoop] | None:
    """uvloop where the image has it (Debian's python3-uvloop in drill's base): about half the
    CPU per request of asyncio's own loop, which matters with eight stacks on two cores."""
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return None
    return uvloop.Loop  # type: ignore[no-any-return]


if __name__ == "__main__":
    loop = event_loop()
    if loop is None:
        asyncio.run(main())
    else:
        with asyncio.Runner(loop_factory=loop) as runner:
            runner.run(main())
