"""How the generator reads answers on one kept-alive connection (#15), against a server that
frames them byte for byte: chunked bodies (extensions, trailers), Content-Length, 1xx before
the answer, 204 and 304 without a body, and bodies that end where the server closes."""

from __future__ import annotations

import asyncio
import threading

import pytest

from orchestration.load import LoadSpec, run_load
from tests.unit.servers import Scripted, running
from traffic import generator
from traffic.generator import run
from traffic.http1 import Answer, connect, exchange

REQUEST = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Served-By: app1\r\n\r\n"
    b"5\r\nhello\r\n7;name=value\r\n, world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
)
LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Served-By: app2\r\n\r\nabc"
EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + LENGTH
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"  # 204 has no body whatever it says
NOT_MODIFIED = b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
BIG_CHUNK = b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1A2B\r\n" + b"z" * 0x1A2B + b"\r\n0\r\n\r\n"


def exchanges(port: int, count: int) -> list[tuple[int, int, str, bool]]:
    """`count` requests in a row on one connection."""

    async def go() -> list[tuple[int, int, str, bool]]:
        conn = await connect("127.0.0.1", port, lambda *_: None)
        try:
            return [await exchange(conn, REQUEST) for _ in range(count)]
        finally:
            conn.close()

    return run(asyncio.wait_for(go(), 5))


def test_chunked_answers_leave_the_connection_ready_for_the_next_request() -> None:
    """Before: the second request read the first one's chunks as its status line (IndexError)."""
    server = Scripted(lambda n: CHUNKED)
    with running(server) as port:
        answers = exchanges(port, 4)
    assert answers == [(200, 12, "app1", True)] * 4
    assert server.connections == 1 and len(server.heads) == 4


def test_every_framing_in_turn_on_one_connection() -> None:
    script = [CHUNKED, LENGTH, EARLY_HINTS, NO_CONTENT, NOT_MODIFIED, BIG_CHUNK, LENGTH]
    server = Scripted(lambda n: script[n - 1])
    with running(server) as port:
        answers = exchanges(port, len(script))
    assert [(status, size) for status, size, _, _ in answers] == [
        (200, 12),
        (200, 3),
        (200, 3),
        (204, 0),
        (304, 0),
        (503, 0x1A2B),
        (200, 3),
    ]
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 200 OK\r\nX-Served-By: old\r\n\r\n" + b"y" * 70_000,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nX-Served-By: old\r\n\r\n" + b"y" * 70_000,
    ],
    ids=["http1.0-no-length", "http1.1-close-no-length"],
)
def test_a_body_without_a_length_ends_at_close_and_the_connection_is_not_reused(answer: bytes) -> None:
    server = Scripted(lambda n: answer, close_after=True)
    with running(server) as port:
        assert exchanges(port, 1) == [(200, 70_000, "old", False)]


def test_something_that_is_not_http_is_said_so() -> None:
    server = Scripted(lambda n: b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    with running(server) as port, pytest.raises(ValueError, match=r"not an HTTP answer: b'SSH-2\.0"):
        exchanges(port, 1)


def test_a_load_against_a_chunked_keep_alive_server_counts_every_answer() -> None:
    server = Scripted(lambda n: CHUNKED)
    with running(server) as port:
        result = run_load(LoadSpec(f"http://127.0.0.1:{port}", rps=100, duration_s=0.2, path="/x"), rules=[])
    report = result.report
    assert report.requests == 20 and report.errors == 0, [s.error for s in result.samples if s.error]
    assert report.bytes == 20 * 12 and report.replicas == {"app1": 20}
    assert server.connections < 20, "answers were read to their end, so connections were reused"
    assert all(f"Host: 127.0.0.1:{port}\r\n".encode() in head for head in server.heads)


@pytest.mark.parametrize("step", [1, 2, 7, 64])
def test_an_answer_read_in_pieces_of_any_size_is_the_same_answer(step: int) -> None:
    """The socket hands over whatever has arrived: a head or a chunk-size line may be split anywhere."""
    for wire, expected in [(CHUNKED, (200, 12, "app1", True)), (EARLY_HINTS, (200, 3, "app2", True))]:
        answer = Answer()
        pieces = [wire[i : i + step] for i in range(0, len(wire), step)]
        done = [answer.feed(piece) for piece in pieces]
        assert done == [False] * (len(pieces) - 1) + [True]
        assert (answer.status, answer.size, answer.replica, answer.keep) == expected


def test_bytes_past_the_end_of_an_answer_are_an_error() -> None:
    with pytest.raises(ValueError, match="past the end"):
        Answer().feed(LENGTH + b"HTTP/1.1")


def test_a_load_against_a_keep_alive_server_sends_exactly_the_schedule_on_few_connections() -> None:
    """The generator's own client: every scheduled request leaves once, every answer is read to its end."""
    server = Scripted(lambda n: LENGTH)
    with running(server) as port:
        result = run_load(LoadSpec(f"http://127.0.0.1:{port}", rps=500, duration_s=0.2, users=7, path="/x"), rules=[])
    assert len(server.heads) == 100 and result.report.requests == 100
    assert result.report.errors == 0 and result.report.bytes == 300 and result.report.replicas == {"app2": 100}
    assert sorted(s.scheduled for s in result.samples) == pytest.approx([i / 500 for i in range(100)])
    assert {s.user for s in result.samples} == set(range(7))
    assert all(head.startswith(b"GET /x HTTP/1.1\r\n") for head in server.heads)
    assert server.connections < 100, "connections were kept alive and reused"


def test_a_server_that_never_answers_is_timed_out_by_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """No timer per request: one sweep a tick ends what has waited past the timeout, each with a sample."""
    monkeypatch.setattr(generator, "REQUEST_TIMEOUT_S", 0.15)
    silent = threading.Event()
    server = Scripted(lambda n: (silent.wait(3), b"")[1])
    with running(server) as port:
        result = run_load(LoadSpec(f"http://127.0.0.1:{port}", rps=40, duration_s=0.25, path="/x"), rules=[])
        silent.set()
    assert result.report.requests == 10 and result.report.errors == 10
    assert {s.error for s in result.samples} == {"no answer within 0.15s"}
    assert all(s.latency >= 0.15 - 1e-9 for s in result.samples), "none is timed out before its time"


def test_a_request_is_timed_out_before_the_next_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """One request every 0.4 s: the sweep runs every tick while the loop waits, not only when the next is due."""
    monkeypatch.setattr(generator, "REQUEST_TIMEOUT_S", 0.1)
    silent = threading.Event()
    server = Scripted(lambda n: (silent.wait(3), b"")[1])
    with running(server) as port:
        result = run_load(LoadSpec(f"http://127.0.0.1:{port}", rps=2.5, duration_s=0.8, path="/x"), rules=[])
        silent.set()
    assert [s.error for s in result.samples] == ["no answer within 0.1s"] * 2
    assert result.samples[0].completed < 0.4, "timed out before the second was due, not when it was sent"
