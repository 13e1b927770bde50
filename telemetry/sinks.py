"""Where alert events go: the terminal, and a Slack-compatible webhook that never stalls a run.

The webhook posts from a thread of its own through a bounded queue, retrying with tenacity;
when the endpoint is down the events are dropped after the retries and counted, and the
run goes on.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.request
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from tenacity import Retrying, stop_after_attempt, wait_exponential

from drills.errors import UsageError
from telemetry.rules import AlertEvent

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Sink(Protocol):
    def send(self, event: AlertEvent) -> None: ...


class TerminalSink:
    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def send(self, event: AlertEvent) -> None:
        self._write(event.describe())


def slack_payload(event: AlertEvent) -> dict[str, object]:
    icon = ":rotating_light:" if event.kind == "alert_fired" else ":white_check_mark:"
    figures = ", ".join(f"{k}={v:.3g}" for k, v in event.figures.items())
    return {"text": f"{icon} drill {event.describe()}", "attachments": [{"text": figures}]}


class WebhookSink:
    def __init__(self, url: str, attempts: int = 3, timeout_s: float = 2.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
            raise UsageError(f"--webhook {url!r}: expected an http(s) URL on this machine (127.0.0.1 or localhost)")
        self.url = url
        self.delivered = 0
        self.dropped = 0
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._queue: queue.Queue[AlertEvent | None] = queue.Queue(maxsize=100)
        self._thread = threading.Thread(target=self._deliver_all, name="drill-webhook", daemon=True)
        self._thread.start()

    def send(self, event: AlertEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout_s: float = 10.0) -> None:
        """Let queued events go out (bounded), then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _deliver_all(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                for attempt in Retrying(
                    stop=stop_after_attempt(self._attempts), wait=wait_exponential(multiplier=0.2, max=2), reraise=True
                ):
                    with attempt:
                        self._post(event)
                self.delivered += 1
            except OSError:
                self.dropped += 1

    def _post(self, event: AlertEvent) -> None:
        body = json.dumps(slack_payload(event)).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
            response.read()
