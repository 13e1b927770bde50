"""Small servers on 127.0.0.1 for the client tests: TLS with a self-signed certificate made in
the test (openssl), and a scripted HTTP/1.1 server that frames its answers exactly as told."""

from __future__ import annotations

import shutil
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class SelfSigned:
    cert: Path  # also the CA a client must be told to trust
    key: Path


def self_signed(directory: Path) -> SelfSigned:
    """A certificate for localhost and 127.0.0.1, valid a day, signed by itself (skips without openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not on PATH: no certificate to test TLS with")
    cert, key = directory / "cert.pem", directory / "key.pem"
    key_type = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    subprocess.run(
        ["openssl", "req", "-x509", *key_type, "-keyout", str(key), "-out", str(cert), "-days", "1", *names],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return SelfSigned(cert, key)


def serve_tls(server: socketserver.TCPServer, pair: SelfSigned) -> None:
    """Make `server` speak HTTPS with `pair` (the handshake happens as it accepts)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pair.cert, pair.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)


@contextmanager
def running(server: socketserver.TCPServer) -> Iterator[int]:
    """Serve in a thread; yield the port; shut down and close on the way out."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.005}, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class Scripted(socketserver.ThreadingTCPServer):
    """Answers the n-th request (from 1) with `answer(n)`, bytes on the wire exactly as written;
    keeps the connection for the next request unless `close_after`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answer: Callable[[int], bytes], close_after: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Scripted)
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.heads: list[bytes] = []
        self.lock = threading.Lock()


class _Scripted(socketserver.StreamRequestHandler):
    server: Scripted

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
        while head := self._head():
            with self.server.lock:
                self.server.heads.append(head)
                answer = self.server.answer(len(self.server.heads))
            self.wfile.write(answer)
            self.wfile.flush()
            if self.server.close_after:
                return

    def _head(self) -> bytes:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline(8192)
            if not line:
                return b""
            head += line
        return head
