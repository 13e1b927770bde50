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


def build(room: Room) -> Starlette:
    def truth(request: Request) -> bool:
        return room.is_facilitator(token_of(request))

    def team_or_403(request: Request) -> tuple[str | None, Response | None]:
        name = request.path_params["team"]
        if name not in room.teams:
            return None, JSONResponse({"error": f"no team {name!r}"}, status_code=404)
        if not room.may_see(token_of(request), name):
            return None, forbidden()
        return name, None

    async def stream(request: Request, payload: Callable[[], dict[str, Any]]) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            seen = -1
            while not room.closed and not await request.is_disconnected():
                version = room.version
                if version != seen:
                    seen = version
                    yield f"data: {json.dumps(payload())}\n\n"
                    await asyncio.sleep(PUSH_EVERY_S)
                else:
                    await anyio.to_thread.run_sync(room.wait, seen, 1.0)
                    if room.version == seen:
                        yield ": keep-alive\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    # Pages ------------------------------------------------------------------------

    async def room_page(request: Request) -> Response:
        return HTMLResponse(pages.room())

    async def team_page(request: Request) -> Response:
        name = room.team_of(token_of(request))
        if name is None:
            return forbidden("a team's join token is needed: /team?token=T")
        return HTMLResponse(pages.team(name))

    async def facilitator_page(request: Request) -> Response:
        if not truth(request):
            return forbidden("the facilitator's token is needed")
        return HTMLResponse(pages.facilitator([t for t in room.teams]))

    # API --------------------------------------------------------------------------

    async def api_room(request: Request) -> Response:
        return JSONResponse(room_payload(room, truth(request)))

    async def api_room_stream(request: Request) -> Response:
        facts = truth(request)
        return await stream(request, lambda: room_payload(room, facts))

    async def api_me(request: Request) -> Response:
        token = token_of(request)
        if room.is_facilitator(token):
            return JSONResponse({"role": "facilitator", "team": None})
        name = room.team_of(token)
        if name is None:
            return forbidden("unknown token")
        return JSONResponse({"role": "team", "team": name, "run_id": room.teams[name].run_id})

    async def api_team(request: Request) -> Response:
        name, refused = team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        return JSONResponse(team_payload(room, name, truth(request)))

    async def api_team_stream(request: Request) -> Response:
        name, refused = team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        facts = truth(request)
        return await stream(request, lambda: team_payload(room, name, facts))

    async def api_timeline(request: Request) -> Response:
        name, refused = team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        return JSONResponse(room.team_view(name, truth(request))["timeline"])

    async def api_act(request: Request) -> Response:
        name = request.path_params["team"]
        action = request.path_params["action"]
        if name not in room.teams or action not in ACTIONS:
            return JSONResponse({"error": f"no such team or action: {name}/{action}"}, status_code=404)
        if room.team_of(token_of(request)) != name:  # only the team's own token acts for it
            return forbidden("only this team's token acts for it")
        body = await _body(request)
        by = str(body.get("by") or f"{name}-console")
        try:
            result = await anyio.to_thread.run_sync(
                lambda: room.act(name, action, by, str(body.get("text", "")), str(body.get("detail", "")))
            )
        except DrillError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409 if exc.exit_code != 2 else 400)
        room.touch()
        return JSONResponse(result)

    async def api_truth(request: Request) -> Response:
        if not truth(request):
            return forbidden("the fault, seed and moment are the facilitator's")
        return JSONResponse(
            {
                t.name: {
                    "fault": t.draw.variant.label,
                    "inject_after_s": t.draw.inject_after_s,
                    "seed": t.seed,
                    "run_id": t.run_id,
                }
                for t in room.teams.values()
            }
        )

    async def api_results(request: Request) -> Response:
        if not truth(request):
            return forbidden("the results are the facilitator's")
        return JSONResponse(await anyio.to_thread.run_sync(room.results))

    async def api_report(request: Request) -> Response:
        return await record(request, "report")

    async def api_postmortem(request: Request) -> Response:
        return await record(request, "postmortem")

    async def api_reveal(request: Request) -> Response:
        if not truth(request):
            return forbidden("only the facilitator reveals")
        room.reveal()
        return JSONResponse({"done": "reveal", "over": room.over})

    async def record(request: Request, kind: str) -> Response:
        name, refused = team_or_403(request)
        if refused or name is None:
            return refused or forbidden()
        if not truth(request) and not room.over:
            return forbidden("a team's report opens once the game day has ended")
        if not room.teams[name].ended:
            return JSONResponse({"error": f"team {name} is still running"}, status_code=409)
        if kind == "report":
            return HTMLResponse(await anyio.to_thread.run_sync(room.report_html, name))
        return PlainTextResponse(await anyio.to_thread.run_sync(room.postmortem_md, name))

    async def api_control(request: Request) -> Response:
        if not truth(request):
            return forbidden("only the facilitator starts, aborts, extends or reveals")
        what = request.path_params["what"]
        name = request.path_params["team"]
        if name not in room.teams:
            return JSONResponse({"error": f"no team {name!r}"}, status_code=404)
        body = await _body(request)
        try:
            if what == "start":
                room.start(name)
            elif what == "abort":
                room.abort(name)
            elif what == "extend":
                room.extend(name, float(body.get("seconds", 60)))
            else:
                return JSONResponse({"error": f"no such control: {what}"}, status_code=404)
        except (DrillError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        room.touch()
        return JSONResponse({"done": what, "team": name})

    routes = [
        Route("/", room_page),
        Route("/team", team_page),
        Route("/facilitator", facilitator_page),
        Route("/api/room", api_room),
        Route("/api/room/stream", api_room_stream),
        Route("/api/me", api_me),
        Route("/api/truth", api_truth),
        Route("/api/results", api_results),
        Route("/api/reveal", api_reveal, methods=["POST"]),
        Route("/api/teams/{team}", api_team),
        Route("/api/teams/{team}/stream", api_team_stream),
        Route("/api/teams/{team}/timeline", api_timeline),
        Route("/api/teams/{team}/report", api_report),
        Route("/api/teams/{team}/postmortem", api_postmortem),
        Route("/api/teams/{team}/control/{what}", api_control, methods=["POST"]),
        Route("/api/teams/{team}/{action}", api_act, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    return app


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
