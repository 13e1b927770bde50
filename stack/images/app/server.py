"""A small streaming-platform replica for drill's reference stack.

Standard library only, so it runs on any base image with python3. HTTP/1.1 with
keep-alive on raw asyncio streams (one write per response and TCP_NODELAY: stock
http.server stalls ~44 ms per keep-alive response on Nagle, which looks like a fault).

Finite capacity, as the drill needs: at most CAPACITY requests in service at once,
each taking SERVICE_MS; up to QUEUE more wait their turn (real queueing latency);
beyond that the replica answers 503 at once. /health and /metrics bypass the queue.

A load-feedback agent listens on AGENT_PORT for HAProxy's `agent-check`: it answers the
weight (a percentage) the balancer should give this replica. Its "tango" mode, asked for
with `agent-send "tango period=P replicas=N"`, is the rollout helper someone left on: it
hands the lead to one replica after another every P seconds (100%, the others 5%);
with "calm=C" every replica gets 100% for C seconds between two leads.
No agent-check in the balancer config, no effect: the reference stack does not use it.

Logs (stdout, `docker logs`) read like a service's: a line per notable second (queue full and
503s, requests that waited long for a slot past the upstream's patience, slow database calls)
among routine noise (cache refreshes, connection churn, GC), so reading them is real work.

Settings (environment): REPLICA_NAME, PORT, AGENT_PORT, CAPACITY, SERVICE_MS, QUEUE,
SEGMENT_BYTES, REDIS_HOST, REDIS_PORT.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

NAME = os.environ.get("REPLICA_NAME", socket.gethostname())
PORT = int(os.environ.get("PORT", "8080"))
AGENT_PORT = int(os.environ.get("AGENT_PORT", "9100"))
CAPACITY = int(os.environ.get("CAPACITY", "8"))
SERVICE_MS = float(os.environ.get("SERVICE_MS", "20"))
QUEUE = int(os.environ.get("QUEUE", "32"))
SEGMENT_BYTES = int(os.environ.get("SEGMENT_BYTES", "16384"))
REDIS_HOST = os.environ.get("REDIS_HOST", "db")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
SLOW_DB_S = 0.01

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TITLES = {
    "ocean-drift": "Ocean Drift",
    "night-shift": "Night Shift",
    "city-lights": "City Lights",
    "the-long-tango": "The Long Tango",
    "mountain-echo": "Mountain Echo",
}
Handler = Callable[[], Awaitable[tuple[int, bytes, str]]]
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}


@dataclass
class Metrics:
    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    in_flight: int = 0
    queue_depth: int = 0
    rejected: int = 0
    bucket_counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS_S))
    latency_sum: float = 0.0
    latency_count: int = 0
    # for the log, reset each second
    second_rejected: int = 0
    second_waits: list[float] = field(default_factory=list)
    second_slow_db: list[tuple[str, float]] = field(default_factory=list)
    connections: int = 0

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.latency_sum += seconds
        self.latency_count += 1
        for i, bound in enumerate(BUCKETS_S):
            if seconds <= bound:
                self.bucket_counts[i] += 1

    def render(self) -> str:
        lines = [
            "# HELP app_requests_total Requests answered, by route and status.",
            "# TYPE app_requests_total counter",
        ]
        for (route, status), n in sorted(self.requests.items()):
            lines.append(f'app_requests_total{{replica="{NAME}",route="{route}",code="{status}"}} {n}')
        lines += [
            "# TYPE app_in_flight gauge",
            f'app_in_flight{{replica="{NAME}"}} {self.in_flight}',
            "# TYPE app_queue_depth gauge",
            f'app_queue_depth{{replica="{NAME}"}} {self.queue_depth}',
            "# TYPE app_rejected_total counter",
            f'app_rejected_total{{replica="{NAME}"}} {self.rejected}',
            "# TYPE app_request_duration_seconds histogram",
        ]
        for bound, n in zip(BUCKETS_S, self.bucket_counts, strict=False):
            lines.append(f'app_request_duration_seconds_bucket{{replica="{NAME}",le="{bound}"}} {n}')
        lines += [
            f'app_request_duration_seconds_bucket{{replica="{NAME}",le="+Inf"}} {self.latency_count}',
            f'app_request_duration_seconds_sum{{replica="{NAME}"}} {self.latency_sum:.6f}',
            f'app_request_duration_seconds_count{{replica="{NAME}"}} {self.latency_count}',
        ]
        return "\n".join(lines) + "\n"


METRICS = Metrics()


class Capacity:
    """CAPACITY slots in service, a QUEUE of waiters, 503 beyond."""

    def __init__(self, slots: int, queue: int, service_s: float) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._queue_limit = queue
        self._service_s = service_s

    def full(self) -> bool:
        return self._slots.locked() and METRICS.queue_depth >= self._queue_limit

    async def serve(self) -> None:
        METRICS.queue_depth += 1
        queued = time.monotonic()
        try:
            await self._slots.acquire()
        finally:
            METRICS.queue_depth -= 1
        METRICS.second_waits.append(time.monotonic() - queued)
        METRICS.in_flight += 1
        try:
            await asyncio.sleep(self._service_s)
        finally:
            METRICS.in_flight -= 1
            self._slots.release()


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
    def __init__(self) -> None:
        self.capacity = Capacity(CAPACITY, QUEUE, SERVICE_MS / 1000.0)
        self.db = Redis(REDIS_HOST, REDIS_PORT)

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

    async def route(self, path: str) -> tuple[str, int, bytes, str]:
        """Return (route label, status, body, content type)."""
        if path == "/health":
            body = json.dumps({"replica": NAME, "in_flight": METRICS.in_flight, "queued": METRICS.queue_depth})
            return "health", 200, body.encode(), "application/json"
        if path == "/metrics":
            return "metrics", 200, METRICS.render().encode(), "text/plain; version=0.0.4"
        if path == "/api/catalog":
            return await self._limited("catalog", self._catalog)
        if path.startswith("/stream/"):
            parts = path.split("/")
            if len(parts) == 4 and parts[3].isdigit():
                return await self._limited("stream", lambda: self._segment(parts[2], int(parts[3])))
        return "other", 404, b'{"error": "not found"}', "application/json"

    async def _limited(self, label: str, handler: Handler) -> tuple[str, int, bytes, str]:
        if self.capacity.full():
            METRICS.rejected += 1
            METRICS.second_rejected += 1
            return label, 503, b'{"error": "replica over capacity"}', "application/json"
        await self.capacity.serve()
        try:
            status, body, ctype = await handler()
        except ConnectionError:
            status, body, ctype = 503, b'{"error": "database unavailable"}', "application/json"
        return label, status, body, ctype

    async def _catalog(self) -> tuple[int, bytes, str]:
        data = await self.db.command("GET", "catalog")
        return 200, data or b"[]", "application/json"

    async def _segment(self, title: str, segment: int) -> tuple[int, bytes, str]:
        if await self.db.command("GET", f"title:{title}") is None:
            return 404, b'{"error": "unknown title"}', "application/json"
        seed = f"{title}:{segment}:".encode()
        body = (seed * (SEGMENT_BYTES // len(seed) + 1))[:SEGMENT_BYTES]
        return 200, body, "video/mp2t"


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, bool] | None:
    """Return (method, path, keep_alive), or None when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, version = ([*lines[0].split(" "), "", "", ""])[:3]
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
    length = int(headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(length)
    conn = headers.get("connection", "").lower()
    keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
    return method, path.split("?", 1)[0], keep_alive


def response(status: int, body: bytes, ctype: str, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"X-Served-By: {NAME}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode() + body


async def handle(service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    METRICS.connections += 1
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            request = await read_request(reader)
            if request is None:
                break
            method, path, keep_alive = request
            started = time.monotonic()
            if method not in ("GET", "HEAD"):
                label, status, body, ctype = "other", 400, b'{"error": "GET only"}', "application/json"
            else:
                label, status, body, ctype = await service.route(path)
            METRICS.observe(label, status, time.monotonic() - started)
            writer.write(response(status, b"" if method == "HEAD" else body, ctype, keep_alive))
            await writer.drain()
            if not keep_alive:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()


def log(level: str, text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"{stamp}.{int(time.time() * 1000) % 1000:03d}Z {level:<5} {NAME} {text}", flush=True)


NOISE = (
    ("INFO", "catalog cache refreshed: 5 titles, {ms:.1f} ms"),
    ("INFO", "segment cache: hit ratio {ratio:.2f}, {n} entries"),
    ("DEBUG", "gc: gen0 collected {objs} objects"),
    ("INFO", "keep-alive: {conns} client connections open"),
    ("INFO", "healthcheck ok from balancer"),
    ("WARN", "client closed connection before response (broken pipe)"),
    ("INFO", "title metadata lookup miss for 'ocean-drift-4k': falling back to 'ocean-drift'"),
)
UPSTREAM_PATIENCE_S = 1.0  # the balancer's viewers give up on a segment around here
REPORT_S = 1.0  # how often the log says what went wrong in the last while


async def reporter(rng: random.Random) -> None:
    """Once a second: what went wrong in it (if anything); now and then, routine noise."""
    while True:
        await asyncio.sleep(REPORT_S)
        m = METRICS
        waits, rejected, slow_db = m.second_waits, m.second_rejected, m.second_slow_db
        m.second_waits, m.second_rejected, m.second_slow_db = [], 0, []
        if rejected:
            log("ERROR", f"queue full ({QUEUE} waiting, {CAPACITY} in service): answered 503 to {rejected} requests")
        late = [w for w in waits if w > UPSTREAM_PATIENCE_S]
        if late:
            log(
                "WARN",
                f"upstream timeout risk: {len(late)} of {len(waits)} requests waited over "
                f"{UPSTREAM_PATIENCE_S:g}s for a worker (longest {max(late):.2f}s, queue depth {m.queue_depth})",
            )
        elif waits and max(waits) > 0.25:
            log("INFO", f"request queue: longest wait {max(waits) * 1000:.0f} ms, depth {m.queue_depth}")
        for command, took in slow_db[:2]:
            log("WARN", f"slow redis call {command} took {took * 1000:.0f} ms")
        if rng.random() < 0.12:
            level, text = rng.choice(NOISE)
            log(
                level,
                text.format(
                    ms=rng.uniform(0.4, 3.0),
                    ratio=rng.uniform(0.93, 0.99),
                    n=rng.randint(180, 400),
                    objs=rng.randint(200, 900),
                    conns=m.connections,
                ),
            )


def agent_weight(request: str, name: str, now: float) -> str:
    """The agent's answer: "100%" normally; in tango mode the lead rotates between replicas,
    with `calm` seconds of everyone at 100% between two leads."""
    words = dict(w.partition("=")[::2] for w in request.split() if "=" in w)
    if "tango" not in request.split():
        return "100%"
    try:
        period, replicas = max(float(words.get("period", "4")), 0.5), max(int(words.get("replicas", "3")), 1)
        calm = max(float(words.get("calm", "0")), 0.0)
        index = int("".join(c for c in name if c.isdigit()) or "1")
    except ValueError:
        return "100%"
    cycle = period + calm
    if now % cycle >= period:
        return "100%"
    lead = int(now / cycle) % replicas + 1
    return "100%" if lead == index else "5%"


async def agent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        try:
            request = (await asyncio.wait_for(reader.read(256), timeout=0.2)).decode(errors="replace")
        except TimeoutError:
            request = ""
        writer.write((agent_weight(request, NAME, time.time()) + "\n").encode())
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main() -> None:
    service = Service()
    server = await asyncio.start_server(lambda r, w: handle(service, r, w), "0.0.0.0", PORT, backlog=1024)
    feedback = await asyncio.start_server(agent, "0.0.0.0", AGENT_PORT)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    seeding = asyncio.create_task(service.seed())
    reporting = asyncio.create_task(reporter(random.Random(NAME)))
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
