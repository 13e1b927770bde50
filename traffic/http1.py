"""One HTTP/1.1 exchange on a kept-alive stream: the hot path of the load generator.

A response's body is framed one of three ways (RFC 9112, section 6.3), and each must be read
to its last byte or the next response on the connection starts in the middle of this one:
`Transfer-Encoding: chunked` (chunks, then trailers), `Content-Length`, or neither, when the
body ends where the server closes the connection. 1xx answers (103 Early Hints) come before
the real one; 204 and 304 have no body whatever their headers say.

Kept cheap: one `readuntil` for the head, a byte-level header scan, no objects per request.
"""

from __future__ import annotations

import asyncio

NO_BODY = (204, 304)
CLOSE_READ = 65536


def _status(line: bytes) -> int:
    version, _, rest = line.partition(b" ")
    if not version.startswith(b"HTTP/") or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP answer: {line[:40]!r}")
    return int(rest[:3])


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, int, str, bool]:
    """Send one request; return (status, body bytes, X-Served-By, keep-alive)."""
    writer.write(request)
    while True:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = _status(lines[0])
        if not 100 <= status < 200:
            break
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
    if status in NO_BODY:
        return status, 0, replica, keep
    if chunked:
        return status, await read_chunked(reader), replica, keep
    if length >= 0:
        if length:
            await reader.readexactly(length)
        return status, length, replica, keep
    return status, await read_to_close(reader), replica, False


async def read_chunked(reader: asyncio.StreamReader) -> int:
    """Read a chunked body and its trailers; return the body's size (the chunks' data only)."""
    size = 0
    while chunk := int((await reader.readuntil(b"\r\n")).partition(b";")[0], 16):  # a chunk may carry ;extensions
        if chunk < 0:
            raise ValueError("a negative chunk size")
        await reader.readexactly(chunk + 2)  # the data and its CRLF
        size += chunk
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, up to the empty line
        pass
    return size


async def read_to_close(reader: asyncio.StreamReader) -> int:
    """A body without a length ends when the server closes: count it as it streams in."""
    size = 0
    while data := await reader.read(CLOSE_READ):
        size += len(data)
    return size
