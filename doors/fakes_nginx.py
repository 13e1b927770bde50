"""A fake nginx behind doors.nginx.NginxProcess, for unit tests: it loads its config file at
start and on reload() (SIGHUP) when the file is one nginx would accept, keeps running the old
one when it is not, and answers readings the way the real probe does: the file as `nginx -T`
prints it, when it last changed, and the workers' start times (a logical clock, not seconds).
"""

from __future__ import annotations

from pathlib import Path

from doors.nginx import NginxReading

HEADER = "# configuration file /etc/nginx/nginx.conf:\n"


def acceptable(text: str) -> bool:
    """What the fake's `nginx -t` accepts: balanced braces (enough for tests of a refused reload)."""
    return text.count("{") == text.count("}")


class FakeNginx:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.tick = 0.0
        self.seen = config.read_text()
        self.mtime = 0.0
        self.pid = 10
        self.generation = 0.0
        self.loaded = self.seen
        self.reloads = 0
        self.log: list[str] = []
        self._bump()
        self.generation = self.tick

    def _bump(self) -> float:
        self.tick += 1.0
        return self.tick

    def _notice_edits(self) -> str:
        text = self.config.read_text()
        if text != self.seen:
            self.seen, self.mtime = text, self._bump()
        return text

    def reload(self) -> None:
        """SIGHUP: a new worker on the file's config, or nothing if nginx would refuse it."""
        text = self._notice_edits()
        self.reloads += 1
        if acceptable(text):
            self.loaded, self.generation, self.pid = text, self._bump(), self.pid + 1

    def read(self) -> NginxReading:
        text = self._notice_edits()
        ok = acceptable(text)
        error = "" if ok else "nginx: [emerg] unexpected end of file"
        return NginxReading(HEADER + text if ok else "", error, self.mtime, ((self.pid, self.generation),))

    def access_log(self, offset: int) -> tuple[bytes, int]:
        data = "".join(line + "\n" for line in self.log).encode()
        return data[offset:], len(data)

    def serve(self, replica: str, status: int = 200, times: int = 1) -> None:
        """Requests as the access log has them (the drill's log_format)."""
        line = f'172.18.0.1 [30/Nov/2026:12:00:00 +0000] "GET /api/catalog HTTP/1.1" {status} 245 rt=0.021'
        self.log += [f"{line} upstream=10.0.0.2:8080 replica={replica}"] * times
