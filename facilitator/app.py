"""The facilitator's server: a JSON API, server-sent events and three pages over a game day's Room.

Who sees what (../shared/DESIGN.md): the room view and its stream are the projector's (no
token: phases, times, alerts, milestones, points; the fault only once every team has ended and
the facilitator revealed it). A team's token reads and acts for its own team only; the
facilitator's token reads everything and starts, aborts, extends and reveals. Anything else is
403. A token is a bearer header (`Authorization: Bearer T`) or, for a browser, `?token=T`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from drills.errors import DrillError
from facilitator import charts, pages
from orchestration.gameday import Room

PUSH_EVERY_S = 0.5  # at most two pushes a second per stream
ACTIONS = ("ack", "note", "diagnose", "hint", "resolve")


def token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token")


def forbidden(why: str = "this token may not see or do that") -> JSONResponse:
    return JSONResponse({"error": why}, status_code=403)


def room_payload(room: Room, truth: bool) -> dict[str, Any]:
    view = room.room(truth)
    for team in view["teams"]:
        team["spark_svg"] = charts.sparkline(team["sparkline"], room.drill.recovery.p95_ms)
    return view


def team_payload(room: Room, name: str, truth: bool) -> dict[str, Any]:
    view = room.team_view(name, truth)
    view["charts"] = charts.team_charts(view, room.drill.rules) if room.live(truth) else []  # veteran: the clock only
    view["room"] = {"over": room.over, "leaderboard": room.room()["leaderboard"]}
    return view


class Api:
    """The server's handlers over one Room: who may see and do what is decided here and in the Room."""

    def __init__(self, room: Room) -> None:
        self.room = room

    def truth(self, request: Request) -> bool:
        return self.room.is_facilitator(token_of(request))

    def team_or_403(self, request: Request) -> tuple[str | None, Response | None]:
        name = request.path_params["team"]
        if name not in self.room.teams:
            return None, JSONResponse({"error": f"no team {name!r}"}, status_code=404)
        if not self.room.may_see(token_of(request), name):
            return None, forbidden()
        return name, None

    async def stream(self, request: Request, payload: Callable[[], dict[str, Any]]) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            seen = -1
            while not self.room.closed and not await request.is_disconnected():
                version = self.room.version
                if version != seen:
                    seen = version
                    yield f"data: {json.dumps(payload())}\n\n"
                    await asyncio.sleep(PUSH_EVERY_S)
                else:
                    await anyio.to_thread.run_sync(self.room.wait, seen, 1.0)
                    if self.room.version == seen:
                        yield ": keep-alive\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    # Pages ------------------------------------------------------------------------

    async def room_page(self, request: Request) -> Response:
        return HTMLResponse(pages.room())

    async def team_page(self, request: Request) -> Response:
        name = self.room.team_of(token_of(request))
        if name is None:
            return forbidden("a team's join token is needed: /team?token=T")
        return HTMLResponse(pages.team(name))

    async def facilitator_page(self, request: Request) -> Response:
        if not self.truth(request):
            return forbidden("the facilitator's token is needed")
        return HTMLResponse(pages.facilitator([t for t in self.room.teams]))

    # API --------------------------------------------------------------------------

    async def api_room(self, request: Request) -> Response:
        return JSONResponse(room_payload(self.room, self.truth(request)))

    async def api_room_stream(self, request: Request) -> Response:
        facts = self.truth(request)
        return await self.stream(request, lambda: room_payload(self.room, facts))

    async def api_me(self, request: Request) -> Response:
        token = token_of(request)
        if self.room.is_facilitator(token):
            return JSONResponse({"role": "facilitator", "team": None})
        name = self.room.team_of(token)
        if name is None:
            return forbidden("unknown token")
        return JSONResponse({"role": "team", "team": name, "run_id": self.room.teams[name].run_id})

    async def api_team(self, request: Request) -> Response:
        name, refused = self.team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        return JSONResponse(team_payload(self.room, name, self.truth(request)))

    async def api_team_stream(self, request: Request) -> Response:
        name, refused = self.team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        facts = self.truth(request)
        return await self.stream(request, lambda: team_payload(self.room, name, facts))

    async def api_timeline(self, request: Request) -> Response:
        name, refused = self.team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        return JSONResponse(self.room.team_view(name, self.truth(request))["timeline"])

    async def api_act(self, request: Request) -> Response:
        name = request.path_params["team"]
        action = request.path_params["action"]
        if name not in self.room.teams or action not in ACTIONS:
            return JSONResponse({"error": f"no such team or action: {name}/{action}"}, status_code=404)
        if self.room.team_of(token_of(request)) != name:  # only the team's own token acts for it
            return forbidden("only this team's token acts for it")
        body = await _body(request)
        by = str(body.get("by") or f"{name}-console")
        try:
            result = await anyio.to_thread.run_sync(
                lambda: self.room.act(name, action, by, str(body.get("text", "")), str(body.get("detail", "")))
            )
        except DrillError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409 if exc.exit_code != 2 else 400)
        self.room.touch()
        return JSONResponse(result)

    async def api_truth(self, request: Request) -> Response:
        if not self.truth(request):
            return forbidden("the fault, seed and moment are the facilitator's")
        return JSONResponse(
            {
                t.name: {
                    "fault": t.draw.variant.label,
                    "inject_after_s": t.draw.inject_after_s,
                    "seed": t.seed,
                    "run_id": t.run_id,
                }
                for t in self.room.teams.values()
            }
        )

    async def api_results(self, request: Request) -> Response:
        if not self.truth(request):
            return forbidden("the results are the facilitator's")
        return JSONResponse(await anyio.to_thread.run_sync(self.room.results))

    async def api_report(self, request: Request) -> Response:
        return await self.record(request, "report")

    async def api_postmortem(self, request: Request) -> Response:
        return await self.record(request, "postmortem")

    async def api_reveal(self, request: Request) -> Response:
        if not self.truth(request):
            return forbidden("only the facilitator reveals")
        self.room.reveal()
        return JSONResponse({"done": "reveal", "over": self.room.over})

    async def record(self, request: Request, kind: str) -> Response:
        name, refused = self.team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        if not self.truth(request) and not self.room.over:
            return forbidden("a team's report opens once the game day has ended")
        if not self.room.teams[name].ended:
            return JSONResponse({"error": f"team {name} is still running"}, status_code=409)
        if kind == "report":
            return HTMLResponse(await anyio.to_thread.run_sync(self.room.report_html, name))
        return PlainTextResponse(await anyio.to_thread.run_sync(self.room.postmortem_md, name))

    async def api_control(self, request: Request) -> Response:
        if not self.truth(request):
            return forbidden("only the facilitator starts, aborts, extends or reveals")
        what = request.path_params["what"]
        name = request.path_params["team"]
        if name not in self.room.teams:
            return JSONResponse({"error": f"no team {name!r}"}, status_code=404)
        body = await _body(request)
        try:
            if what == "start":
                self.room.start(name)
            elif what == "abort":
                self.room.abort(name)
            elif what == "extend":
                self.room.extend(name, float(body.get("seconds", 60)))
            else:
                return JSONResponse({"error": f"no such control: {what}"}, status_code=404)
        except (DrillError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        self.room.touch()
        return JSONResponse({"done": what, "team": name})

    def routes(self) -> list[Route]:
        return [
            Route("/", self.room_page),
            Route("/team", self.team_page),
            Route("/facilitator", self.facilitator_page),
            Route("/api/room", self.api_room),
            Route("/api/room/stream", self.api_room_stream),
            Route("/api/me", self.api_me),
            Route("/api/truth", self.api_truth),
            Route("/api/results", self.api_results),
            Route("/api/reveal", self.api_reveal, methods=["POST"]),
            Route("/api/teams/{team}", self.api_team),
            Route("/api/teams/{team}/stream", self.api_team_stream),
            Route("/api/teams/{team}/timeline", self.api_timeline),
            Route("/api/teams/{team}/report", self.api_report),
            Route("/api/teams/{team}/postmortem", self.api_postmortem),
            Route("/api/teams/{team}/control/{what}", self.api_control, methods=["POST"]),
            Route("/api/teams/{team}/{action}", self.api_act, methods=["POST"]),
        ]


def build(room: Room) -> Starlette:
    return Starlette(routes=Api(room).routes())


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
