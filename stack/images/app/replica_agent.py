"""The replica's load-feedback agent for HAProxy's `agent-check`: it answers the weight (a
percentage) the balancer should give this replica. Its "tango" mode, asked for with
`agent-send "tango period=P replicas=N"`, is the rollout helper someone left on: it hands the
lead to one replica after another every P seconds (100%, the others 5%); with "calm=C" every
replica gets 100% for C seconds between two leads. No agent-check in the balancer config, no
effect: the reference stack does not use it."""

from __future__ import annotations

import asyncio
import time


def agent_weight(request: str, name: str, now: float) -> str:
    """The agent's answer: "100%" normally; in tango mode the lead rotates between replicas,
    with `calm` seconds of everyone at 100% between two leads."""
    words = dict(w.partition("=")[::2] for w in request.split() if "=" in w)
    if "tango" not in request.split():
        return "100%"
    try:
        period, replicas = max(float(words.get("period", "4")), 0.5), max(int(words.get("replicas", "3")), 1)
        calm = max(float(words.get("calm", "0")), 0.0)
        index = int("".join(c for c in name if c.isdigit()) or "1")
    except ValueError:
        return "100%"
    cycle = period + calm
    if now % cycle >= period:
        return "100%"
    lead = int(now / cycle) % replicas + 1
    return "100%" if lead == index else "5%"


async def agent(name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One agent-check: read what HAProxy sends (if anything), answer the weight."""
    try:
        try:
            request = (await asyncio.wait_for(reader.read(256), timeout=0.2)).decode(errors="replace")
        except TimeoutError:
            request = ""
        writer.write((agent_weight(request, name, time.time()) + "\n").encode())
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
