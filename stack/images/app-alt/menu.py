"""A small menu service, standing in for a team's own app behind drill's balancer.

GET /healthz (the balancer's check), /v1/menu and /v1/items/<n> (what viewers ask for), on
port 9000 (PORT). Each page takes WORK_MS of work on one of WORKERS threads at once; the rest
wait. It knows nothing of drill: no X-Served-By, no /metrics.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "9000"))
WORK_S = float(os.environ.get("WORK_MS", "4")) / 1000
WORKERS = threading.BoundedSemaphore(int(os.environ.get("WORKERS", "16")))
MENU = json.dumps({"items": [{"id": i, "name": f"dish {i}"} for i in range(12)]}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the balancer's connections expect

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._answer(200, b"ok\n", "text/plain")
        elif self.path == "/v1/menu" or self.path.startswith("/v1/items"):
            with WORKERS:
                time.sleep(WORK_S)
            self._answer(200, MENU, "application/json")
        else:
            self._answer(404, b"not found\n", "text/plain")

    def _answer(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        if not str(args[1] if len(args) > 1 else "").startswith("2"):
            super().log_message(format, *args)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("", PORT), Handler)
    server.daemon_threads = True
    print(f"menu listening on :{PORT}", flush=True)
    server.serve_forever()
