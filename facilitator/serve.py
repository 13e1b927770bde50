"""The facilitator's server in a thread of the game day's process (uvicorn, 127.0.0.1 by default)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from doors.kit import Doors
from drills.errors import DrillError, Terminated, UsageError
from facilitator.app import build
from orchestration import gameday
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


def host_gameday(
    room: Room,
    doors: Doors,
    where: tuple[str, int],
    say: Callable[[str], None],
    *,
    keep: bool,
    hold: bool,
    linger_s: float,
) -> None:
    """Serve the room while every team plays (`drill gameday run`); with `linger_s`, the results
    that long after the end. Ctrl-C or SIGTERM aborts every team (run_all reverts and removes)."""
    serving = Serving(room, *where).start()
    url = serving.url
    say(f"game day {room.gameday}: {room.drill.title}, teams {', '.join(room.teams)}")
    say(f"  room view (projector): {url}/")
    say(f"  facilitator (keep it to yourself): {url}/facilitator?token={room.facilitator_token}")
    for t in room.teams.values():
        say(f"  team {t.name}: {url}/team?token={t.token}   CLI: drill --server {url} --token {t.token} ack")
    try:
        gameday.run_all(room, doors, keep, hold=hold)
        if linger_s > 0:
            say(f"the game day is over; serving the results for {linger_s:g}s (Ctrl-C to stop)")
            time.sleep(linger_s)  # the facilitator asked for this long
    except (KeyboardInterrupt, Terminated):  # run_all has aborted every team and waited for each
        say("interrupted: every team's run was aborted, its fault reverted and its stack removed")
    finally:
        serving.stop()
