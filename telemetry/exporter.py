"""The monitor's SLIs in Prometheus text format on 127.0.0.1 (`--metrics-port`)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from drills.errors import UsageError
from drills.rules import SLI_NAMES
from telemetry.windows import Slis


def render_prometheus(slis: Slis | None, firing: list[str]) -> str:
    if slis is None:
        return "# no window evaluated yet\n"
    lines = []
    for name in SLI_NAMES:
        lines += [f"# TYPE drill_{name} gauge", f"drill_{name} {slis.value(name):.6g}"]
    lines.append("# TYPE drill_replica_share gauge")
    lines += [f'drill_replica_share{{replica="{r}"}} {s:.6g}' for r, s in sorted(slis.shares.items())]
    lines.append("# TYPE drill_replica_expected_share gauge")
    lines += [f'drill_replica_expected_share{{replica="{r}"}} {s:.6g}' for r, s in sorted(slis.expected_shares.items())]
    lines.append("# TYPE drill_alert_firing gauge")
    lines += [f'drill_alert_firing{{rule="{name}"}} 1' for name in firing]
    return "\n".join(lines) + "\n"


class MetricsServer:
    def __init__(self, port: int) -> None:
        self.latest: Slis | None = None
        self.firing: list[str] = []
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = render_prometheus(exporter.latest, exporter.firing).encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise UsageError(f"--metrics-port {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="drill-metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
