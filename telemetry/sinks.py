"""Where alert events go: the terminal, and a Slack-compatible webhook that never stalls a run.

The webhook posts from a thread of its own through a bounded queue, retrying with tenacity;
when the endpoint is down the events are dropped after the retries and counted, and the
run goes on. Any http(s) URL, TLS verified: a Slack incoming webhook answers 200 "ok", or a
4xx with its reason ("no_service", "invalid_payload"), which no retry would change, so only
429 and 5xx and network failures are retried. Its URL is a secret: messages show the host only.
"""

from __future__ import annotations

import http.client
import json
import queue
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from doors.tls import Trust
from drills.errors import UsageError
from telemetry.rules import AlertEvent


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


def redacted(url: str) -> str:
    """scheme://host[:port] and "/..." for the rest: a webhook's path is its credential."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, _, path = rest.partition("/")
    return f"{scheme}{sep}{host.rpartition('@')[2]}" + ("/..." if path else "")


def check_webhook(url: str) -> str:
    parts = urlsplit(url)
    shown = redacted(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--webhook {shown}: expected an http(s) URL, e.g. https://hooks.slack.com/services/...")
    if parts.username is not None:
        raise UsageError(f"--webhook {shown}: no user:password@ in the URL; drill sends no credentials")
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise UsageError(f"--webhook {shown}: the port is not a number between 1 and 65535") from None
    return url


def failure_reason(exc: BaseException) -> str:
    """One line for why a post failed: the endpoint's own words for an HTTP error."""
    if isinstance(exc, urllib.error.HTTPError):
        text = exc.read(200).decode("utf-8", "replace").split("\n")[0].strip()
        return f"{exc.code} {text or exc.reason}"
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"certificate verify failed ({reason.verify_message}); give --ca-file FILE with the CA that signed it"
    if isinstance(reason, TimeoutError):
        return "no answer in time"
    return (reason.strerror if isinstance(reason, OSError) else None) or str(reason) or type(reason).__name__


def worth_retrying(exc: BaseException) -> bool:
    """Network trouble, 429 and 5xx may pass; a refusal (other 4xx) or an untrusted certificate will not."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, ssl.SSLCertVerificationError):
        return False
    return isinstance(exc, OSError | http.client.HTTPException)


class WebhookSink:
    def __init__(
        self, url: str, attempts: int = 3, timeout_s: float = 2.0, trust: Trust = Trust(), backoff_s: float = 0.2
    ) -> None:
        self.url = check_webhook(url)
        self.shown = redacted(url)
        self.delivered = 0
        self.dropped = 0
        self.last_failure = ""
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._backoff_s = backoff_s  # the first retry's wait; doubling, at most 2 s
        handlers = [urllib.request.HTTPSHandler(context=trust.context())] if url.startswith("https") else []
        self._opener = urllib.request.build_opener(*handlers)
        self._queue: queue.Queue[AlertEvent | None] = queue.Queue(maxsize=100)
        self._thread = threading.Thread(target=self._deliver_all, name="drill-webhook", daemon=True)
        self._thread.start()

    def send(self, event: AlertEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            self.last_failure = "more than 100 alerts waiting"

    def close(self, timeout_s: float = 10.0) -> None:
        """Let queued events go out (bounded), then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def summary(self) -> str:
        total = self.delivered + self.dropped
        return f"webhook {self.shown}: {self.dropped} of {total} alerts not delivered (last: {self.last_failure})"

    def _deliver_all(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                for attempt in Retrying(
                    stop=stop_after_attempt(self._attempts),
                    wait=wait_exponential(multiplier=self._backoff_s, max=2),
                    retry=retry_if_exception(worth_retrying),
                    reraise=True,
                ):
                    with attempt:
                        self._post(event)
                self.delivered += 1
            except Exception as exc:  # whatever went wrong, the thread lives on for the next alert
                self.dropped += 1
                self.last_failure = failure_reason(exc)

    def _post(self, event: AlertEvent) -> None:
        body = json.dumps(slack_payload(event)).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with self._opener.open(request, timeout=self._timeout_s) as response:
            response.read()
