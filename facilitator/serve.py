"""The facilitator's server in a thread of the game day's process (uvicorn, 127.0.0.1 by default)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from drills.errors import DrillError, UsageError
from facilitator.app import build
from orchestration.gameday import Room


class Serving:
    def __init__(self, room: Room, host: str = "127.0.0.1", port: int = 0) -> None:
        if port == 0:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.room, self.host, self.port = room, host, port
        config = uvicorn.Config(
            build(room), host=host, port=port, log_level="warning", timeout_graceful_shutdown=2, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="drill-facilitator", daemon=True)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Serving:
        try:
            with socket.socket() as probe:
                probe.bind((self.host, self.port))
        except OSError as exc:
            raise UsageError(f"--port {self.port}: cannot listen on {self.host}:{self.port} ({exc.strerror})") from None
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise DrillError(f"the facilitator's server did not start on {self.host}:{self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.room.closed = True
        self.room.touch()
        self.server.should_exit = True
        self.thread.join(5)
