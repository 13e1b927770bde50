"""HTTP/1.1 answers on a kept-alive connection: the hot path of the load generator.

A response's body is framed one of three ways (RFC 9112, section 6.3), and each must be read
to its last byte or the next response on the connection starts in the middle of this one:
`Transfer-Encoding: chunked` (chunks, then trailers), `Content-Length`, or neither, when the
body ends where the server closes the connection. 1xx answers (103 Early Hints) come before
the real one; 204 and 304 have no body whatever their headers say.

Kept cheap: `Answer` is a byte-level state machine fed whatever the socket gave (a small
answer is one `feed`: one head scan, no objects per request), and `Connection` is an
asyncio Protocol, not streams: no reader, writer, future or task per request. The owner is
called back once per answer.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import cast

NO_BODY = (204, 304)
MAX_LINE = 65536  # the head, a chunk-size line or a trailer longer than this is not HTTP we read

HEAD, LENGTH, CHUNK_SIZE, CHUNK_DATA, TRAILERS, TO_CLOSE, DONE = range(7)


def _status(line: bytes) -> int:
    version, _, rest = line.partition(b" ")
    if not version.startswith(b"HTTP/") or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP answer: {line[:40]!r}")
    return int(rest[:3])


class Answer:
    """One answer being read: `feed` bytes until it says done; `eof` when the server closes.

    Raises ValueError for what is not HTTP (or not framed as HTTP); fields hold the result."""

    __slots__ = ("_buf", "_left", "_state", "keep", "replica", "size", "status")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._buf = b""
        self._state = HEAD
        self._left = 0
        self.status, self.size, self.replica, self.keep = 0, 0, "", False

    @property
    def started(self) -> bool:
        return self._state != HEAD or bool(self._buf)

    def feed(self, data: bytes) -> bool:
        """Take the next bytes; True when the answer is complete (bytes past it are an error)."""
        buf = self._buf + data if self._buf else data
        self._buf = b""
        while True:
            state = self._state
            if state == HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return self._keep(buf)
                self._head(buf[:end])
                buf = buf[end + 4 :]
            elif state == LENGTH:
                if len(buf) < self._left:
                    self._left -= len(buf)
                    return False
                buf = buf[self._left :]
                self._state = DONE
            elif state == CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    return self._keep(buf)
                chunk = int(buf[:end].partition(b";")[0], 16)  # a chunk may carry ;extensions
                if chunk < 0:
                    raise ValueError("a negative chunk size")
                buf = buf[end + 2 :]
                self.size += chunk
                self._state, self._left = (CHUNK_DATA, chunk + 2) if chunk else (TRAILERS, 0)  # data and its CRLF
            elif state == CHUNK_DATA:
                if len(buf) < self._left:
                    self._left -= len(buf)
                    return False
                buf = buf[self._left :]
                self._state = CHUNK_SIZE
            elif state == TRAILERS:  # trailer fields, up to the empty line
                end = buf.find(b"\r\n")
                if end < 0:
                    return self._keep(buf)
                buf = buf[end + 2 :]
                if end == 0:
                    self._state = DONE
            elif state == TO_CLOSE:
                self.size += len(buf)
                return False
            if self._state == DONE:
                if buf:
                    raise ValueError(f"{len(buf)} bytes past the end of the answer")
                return True

    def eof(self) -> bool:
        """The server closed: True if that ends the answer (a body without a length)."""
        if self._state == TO_CLOSE:
            self._state = DONE
            return True
        return False

    def _keep(self, buf: bytes) -> bool:
        if len(buf) > MAX_LINE:
            raise ValueError(f"no end of line within {MAX_LINE} bytes")
        self._buf = buf
        return False

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status = _status(lines[0])
        if 100 <= status < 200:
            return  # an interim answer: the real one follows
        length, chunked, replica, keep = -1, False, "", lines[0].startswith(b"HTTP/1.1")  # 1.0 closes unless told
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"x-served-by":
                replica = value.strip().decode()
            elif key == b"connection":
                keep = value.strip().lower() == b"keep-alive" or (keep and value.strip().lower() != b"close")
            elif key == b"transfer-encoding":
                chunked = value.strip().lower().endswith(b"chunked")
        self.status, self.replica, self.keep = status, replica, keep
        if status in NO_BODY:
            self._state = DONE
        elif chunked:
            self._state = CHUNK_SIZE
        elif length >= 0:
            self.size, self._left = length, length
            self._state = LENGTH if length else DONE
        else:
            self.keep = False
            self._state = TO_CLOSE


# (connection, status, body bytes, X-Served-By, reusable, error): error is "" for an answer.
OnAnswer = Callable[["Connection", int, int, str, bool, str], None]


class Connection(asyncio.Protocol):
    """One client connection: `send` a request, `on_answer` is called once with its outcome."""

    def __init__(self, on_answer: OnAnswer) -> None:
        self.on_answer = on_answer
        self.transport: asyncio.Transport | None = None
        self.answer = Answer()
        self.busy = False
        self.job: object = None  # the owner's note of what this connection is doing
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, request: bytes) -> None:
        assert self.transport is not None
        self.answer.reset()
        self.busy = True
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        if not self.busy:
            self.abort()  # bytes nobody asked for: this connection cannot be trusted with another request
            return
        try:
            done = self.answer.feed(data)
        except ValueError as exc:
            self._finish(f"ValueError: {exc}")
            self.abort()
            return
        if done:
            self._finish("")

    def eof_received(self) -> bool | None:
        return None  # close our side too: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            if self.answer.eof():
                self._finish("")
            elif exc is not None:
                self._finish(f"{type(exc).__name__}: {exc}")
            else:
                where = "mid-answer" if self.answer.started else "before answering"
                self._finish(f"ConnectionResetError: the server closed the connection {where}")
        if not self.closed.done():
            self.closed.set_result(None)

    def _finish(self, error: str) -> None:
        self.busy = False
        a = self.answer
        reusable = a.keep and not error and self.transport is not None and not self.transport.is_closing()
        self.on_answer(self, a.status, a.size, a.replica, reusable, error)

    def abandon(self) -> None:
        """Drop the request in progress without a callback (the owner has recorded it) and close."""
        self.busy = False
        self.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int, on_answer: OnAnswer, context: ssl.SSLContext | None = None) -> Connection:
    """A new connection (TLS when `context`, verified against `host`)."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: Connection(on_answer), host, port, ssl=context, server_hostname=host if context else None
    )
    return protocol


async def exchange(conn: Connection, request: bytes) -> tuple[int, int, str, bool]:
    """Send one request and wait for its answer: (status, body bytes, X-Served-By, reusable).

    For tests and one-off use; the generator sends and is called back without awaiting."""
    done: asyncio.Future[tuple[int, int, str, bool]] = asyncio.get_running_loop().create_future()

    def answered(_: Connection, status: int, size: int, replica: str, reusable: bool, error: str) -> None:
        if done.done():
            return
        if error.startswith("ValueError: "):
            done.set_exception(ValueError(error.removeprefix("ValueError: ")))
        elif error:
            done.set_exception(ConnectionError(error))
        else:
            done.set_result((status, size, replica, reusable))

    conn.on_answer = answered
    conn.send(request)
    return await done
