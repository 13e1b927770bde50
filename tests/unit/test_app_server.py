"""The reference replica's request path: parsing, capacity (slots, FIFO queue, 503) and the title cache."""

from __future__ import annotations

import asyncio
from types import ModuleType

import pytest

from tests.unit.test_app_agent import server


class CountingDb:
    """Stands in for the replica's Redis client: counts GETs, fails while `down`."""

    def __init__(self) -> None:
        self.gets: list[str] = []
        self.down = False

    async def command(self, *args: str) -> bytes | None:
        self.gets.append(args[1])
        if self.down:
            raise ConnectionError("database unavailable")
        return b'{"title": "x"}' if args[1] != "title:nope" else None


def test_requests_are_parsed_whole_pipelined_and_with_their_connection_header() -> None:
    parse = server().parse_request
    assert parse(b"GET /health HTTP/1.1\r\nHost: a\r\n") is None  # head not complete yet
    two = b"GET /a?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n"
    method, path, keep, used = parse(two)
    assert (method, path, keep) == ("GET", "/a", True)
    assert parse(two[used:])[:3] == ("GET", "/b", False)
    assert (
        parse(b"GET / HTTP/1.0\r\n\r\n")[2] is False and parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")[2]
    )
    body = b"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nab"
    assert parse(body) is None and parse(body + b"cd")[3] == len(body) + 2
    with pytest.raises(ValueError):
        parse(b"G" * 70000)


def run_capacity(module: ModuleType, arrivals: int, slots: int, queue: int) -> tuple[list[int], list[float], int]:
    """`arrivals` requests at once on a Capacity; returns the order they finished, the waits, 503s."""
    finished: list[int] = []
    rejected = 0

    async def main() -> None:
        nonlocal rejected
        capacity = module.Capacity(asyncio.get_running_loop(), slots, queue, 0.01)
        for i in range(arrivals):
            if capacity.full():
                rejected += 1
            else:
                capacity.serve(lambda i=i: finished.append(i))
        while module.METRICS.in_flight or module.METRICS.queue_depth:
            await asyncio.sleep(0.005)

    asyncio.run(main())
    return finished, module.METRICS.second_waits, rejected


def test_capacity_serves_slots_then_queues_first_come_first_served_then_refuses() -> None:
    module = server()
    finished, waits, rejected = run_capacity(module, arrivals=10, slots=2, queue=5)
    assert rejected == 3  # 2 in service + 5 waiting, the rest refused at once
    assert finished == list(range(7))  # in arrival order
    assert waits[:2] == [0.0, 0.0] and all(w >= 0.009 for w in waits[2:]) and waits[-1] >= 0.029


def test_title_metadata_is_read_once_per_ttl_and_failures_are_not_cached() -> None:
    module = server()
    answers: list[int] = []

    async def main() -> None:
        service = module.Service(asyncio.get_running_loop())
        db = service.db = CountingDb()

        async def segment(title: str) -> int:
            before = len(answers)
            service._segment(title, 1, lambda _label, status, _body, _ctype: answers.append(status))
            while len(answers) == before:
                await asyncio.sleep(0.001)
            return answers[-1]

        assert [await segment("ocean-drift") for _ in range(5)] == [200] * 5
        assert db.gets == ["title:ocean-drift"]  # one read for five segments
        assert await segment("nope") == 404
        service.titles["ocean-drift"] -= module.TITLE_TTL_S  # the cached read is now stale
        db.down = True
        assert [await segment("ocean-drift") for _ in range(2)] == [503, 503]  # each one asks again
        db.down = False
        assert await segment("ocean-drift") == 200 and len(db.gets) == 5

    asyncio.run(main())
