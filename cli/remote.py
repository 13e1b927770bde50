"""Responders' commands through a game day's facilitator server: `drill --server URL --token T ack`.

The token says which team acts; the server does what the local command would (same functions,
same scoring) and refuses anything else. urllib only: `drill ack` stays fast, Starlette is the
server's business."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

import click

from drills.errors import DrillError, UsageError


@dataclass(frozen=True)
class Remote:
    server: str
    token: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import urllib.error  # with http.client, ssl and email: 20 ms that only a game day's command needs
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        try:
            request = urllib.request.Request(
                self.server.rstrip("/") + path,
                data=data,
                method=method,
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )
        except ValueError:
            raise UsageError(
                f"--server {self.server!r}: expected http://HOST:PORT, as drill gameday run prints"
            ) from None
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                text = answer.read() or b"null"
            return json.loads(text)
        except urllib.error.HTTPError as exc:
            try:
                why = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                why = exc.reason
            raise UsageError(f"the game day's server refused ({exc.code}): {why}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DrillError(f"--server {self.server}: no answer ({exc})") from None
        except ValueError:
            raise DrillError(f"--server {self.server}: the answer is not a game day's (not JSON)") from None

    def team(self) -> str:
        me = self._call("GET", "/api/me")
        if me.get("team") is None:
            raise UsageError("--token: the facilitator's token does not act for a team; use the team's join token")
        return str(me["team"])

    def act(self, action: str, by: str, text: str = "", detail: str = "") -> dict[str, Any]:
        team = urllib.parse.quote(self.team())
        result: dict[str, Any] = self._call(
            "POST", f"/api/teams/{team}/{action}", {"by": by, "text": text, "detail": detail}
        )
        return result

    def timeline(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/api/teams/{urllib.parse.quote(self.team())}/timeline")
        return result


def current() -> Remote | None:
    """The --server and --token given to `drill` (or $DRILL_SERVER, $DRILL_TOKEN), if any."""
    context = click.get_current_context(silent=True)
    obj = (context.find_root().obj or {}) if context is not None else {}
    server, token = obj.get("server"), obj.get("token")
    if not server:
        return None
    if not token:
        raise UsageError("--server needs --token: the join token the facilitator gave your team")
    return Remote(server, token)


def given_token() -> str | None:
    context = click.get_current_context(silent=True)
    obj = (context.find_root().obj or {}) if context is not None else {}
    token = obj.get("token")
    return str(token) if token else None


def line(recorded: dict[str, Any]) -> str:
    return f"{recorded['event'].replace('_', ' ')} ({recorded['by']}): {recorded['detail']}"
