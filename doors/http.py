"""The one door for the toolkit's own HTTP probes (readiness, a responder's spot check).

The audience's load goes through traffic.generator and alerts through telemetry.sinks;
this is for the handful of requests drill itself makes to see what a person would see.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import http.client


class HttpProbe(Protocol):
    def served_by(self, url: str, requests: int, path: str = "/api/catalog") -> Counter[str]: ...
    def status(self, url: str, path: str) -> int: ...


class UrllibProbe:
    """Probes over one keep-alive connection (http.client), 5 s per request."""

    def __init__(self, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s

    def _connect(self, url: str) -> http.client.HTTPConnection:
        import http.client  # 13 ms at start-up for commands that never probe: imported when one does

        parts = urlsplit(url)
        return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout_s)

    def served_by(self, url: str, requests: int, path: str = "/api/catalog") -> Counter[str]:
        """Send up to `requests` GETs; count 200s by X-Served-By.

        A readiness probe: it stops at the first answer that is not 200, so one probe of a
        sick stack costs one slow request, not `requests` of them."""
        conn = self._connect(url)
        counts: Counter[str] = Counter()
        try:
            for _ in range(requests):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    break
                counts[response.getheader("X-Served-By", "?")] += 1
        finally:
            conn.close()
        return counts

    def status(self, url: str, path: str) -> int:
        """The status of one GET; 0 when nothing answered."""
        conn = self._connect(url)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status
        except OSError:
            return 0
        finally:
            conn.close()
