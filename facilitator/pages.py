"""The three pages: room (projector), team (charts, timeline, responder console), facilitator.

Plain HTML and a little script each, served by the facilitator's own server: no CDN, nothing
fetched but its own API, so a game day works offline. Live updates arrive by server-sent
events (one stream per page, not a poll per widget); charts are SVG drawn by the server.
"""

from __future__ import annotations

import json
from html import escape

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; } td, th { padding: 0.3rem 0.7rem; border-bottom: 1px solid #ddd; text-align: left; }
.chart { display: block; margin: 0.6rem 0; background: #fafafa; border: 1px solid #ddd; max-width: 100%; height: auto; }
.title { font-size: 14px; font-weight: 600; } .tick, .legend, .marker-label { font-size: 11px; }
.axis { stroke: #555; } .marker { stroke: #999; stroke-dasharray: 4 3; } .marker-label { fill: #555; }
.grid { stroke: #e4e4e4; } .firing { fill: #D55E00; fill-opacity: 0.12; }
.threshold { stroke: #D55E00; stroke-dasharray: 6 4; } .threshold-label { font-size: 11px; fill: #D55E00; }
.alert { color: #b00; font-weight: 600; } .ended { color: #070; } .muted { color: #777; }
#console button, #console input { margin: 0.2rem; font-size: 1rem; } pre { background: #f4f4f4; padding: 0.6rem; }
.cols { display: flex; gap: 2rem; flex-wrap: wrap; } .cols > div { flex: 1 1 420px; }
"""

COMMON_JS = """
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls; return e; }
function clock(s) { s = Math.floor(s || 0); return String(Math.floor(s / 60)).padStart(2, '0') + ':' +
  String(s % 60).padStart(2, '0'); }
function marks(m) { return Object.entries(m).sort((a, b) => a[1] - b[1])
  .map(([k, t]) => k.replace('_', ' ') + ' ' + clock(t)).join(', '); }
function roomRow(t, truth) {
  const tr = el('tr'); tr.id = 'team-' + t.team;
  tr.append(el('td', t.team, 'name'), el('td', t.phase, 'phase' + (t.outcome ? ' ended' : '')),
    el('td', clock(t.elapsed_s), 'elapsed'), el('td', t.alerts.join(', '), 'alerts alert'),
    el('td', marks(t.milestones), 'milestones'));
  const spark = el('td', undefined, 'spark'); spark.innerHTML = t.spark_svg; tr.append(spark);
  tr.append(el('td', String(t.points), 'points'), el('td', t.outcome || '', 'outcome'));
  tr.append(el('td', t.fault ? t.fault + ' at +' + t.inject_after_s + 's' : '', 'fault'));
  return tr;
}
function renderRoom(v, truth) {
  document.getElementById('title').textContent = v.title + ': game day ' + v.gameday + (v.over ? ' (over)' : '');
  const body = document.getElementById('teams'); body.replaceChildren(...v.teams.map(t => roomRow(t, truth)));
  document.getElementById('leaderboard').replaceChildren(...v.leaderboard.map(r =>
    el('li', r.team + ': ' + r.points + ' points' + (r.outcome ? ' (' + r.outcome + ')' : ''))));
  const reveal = document.getElementById('reveal');
  reveal.textContent = v.revealed ? 'The reveal: ' + v.teams.map(t => t.team + ' had ' + t.fault).join('; ') : '';
}
"""

ROOM_HEAD = """<table><thead><tr><th>team</th><th>phase</th><th>elapsed</th><th>alerts firing</th><th>milestones</th>
<th>p95 / errors</th><th>points</th><th>outcome</th><th>fault</th></tr></thead><tbody id="teams"></tbody></table>
<h2>Leaderboard</h2><ol id="leaderboard"></ol><p id="reveal"></p>"""


def _page(title: str, body: str, script: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<link rel="icon" href="data:,"><style>{STYLE}</style></head>
<body>{body}
<script>{COMMON_JS}
{script}</script></body></html>"""


def room() -> str:
    script = """
const es = new EventSource('/api/room/stream');
es.onmessage = (m) => renderRoom(JSON.parse(m.data), false);
"""
    return _page("drill: the room", f'<h1 id="title">game day</h1>{ROOM_HEAD}', script)


def team(name: str) -> str:
    return _page(f"drill: team {name}", _team_body(name), _team_script(name))


def _team_body(name: str) -> str:
    return f"""<h1>Team <span id="team">{escape(name)}</span> <small id="phase" class="muted"></small>
<small id="elapsed" class="muted"></small></h1>
<p>Alerts firing: <span id="alerts" class="alert"></span> &middot; points so far: <b id="points"></b>
&middot; milestones: <span id="milestones"></span></p>
<p>Your responder shell (ask the facilitator to open it): <code id="shell"></code></p>
<div class="cols"><div id="charts"></div><div>
<h2>Console</h2><div id="console">
<label>who <input id="by" value="{escape(name)}-console" size="14"></label><br>
<button id="ack">Acknowledge</button> <button id="hint">Hint (costs points)</button>
<button id="resolve">Resolve</button><br>
<input id="category" placeholder="where is the cause? (balancer, database...)" size="34">
<input id="detail" placeholder="detail" size="20"> <button id="diagnose">Diagnose</button><br>
<input id="note" placeholder="what you saw or did" size="40"> <button id="note-send">Note</button>
<pre id="result"></pre></div>
<h2>Timeline</h2><ol id="timeline"></ol></div></div>"""


def _team_script(name: str) -> str:
    """The team page's live view (server-sent events) and console (the team's token)."""
    return f"""
const TEAM = {json.dumps(name)};
const TOKEN = new URLSearchParams(location.search).get('token');
const es = new EventSource('/api/teams/' + encodeURIComponent(TEAM) + '/stream?token=' + encodeURIComponent(TOKEN));
es.onmessage = (m) => {{
  const v = JSON.parse(m.data);
  document.getElementById('phase').textContent = v.phase;
  document.getElementById('elapsed').textContent = clock(v.elapsed_s);
  document.getElementById('alerts').textContent = v.alerts.join(', ') || 'none';
  document.getElementById('points').textContent = v.points;
  document.getElementById('milestones').textContent = marks(v.milestones);
  document.getElementById('shell').textContent = v.shell;
  document.getElementById('charts').innerHTML = v.charts.join('') || (v.level === 'veteran'
    ? '<p class="muted">Veteran level: no live charts here; use your own tools (stats, Prometheus, logs).</p>'
    : '');
  document.getElementById('timeline').replaceChildren(...v.timeline.map(e =>
    el('li', clock(e.offset_s) + ' ' + e.event.replace('_', ' ') + (e.by && e.by !== 'drill' && e.by !== 'monitor'
      ? ' (' + e.by + ')' : '') + ': ' + e.detail, 'event-' + e.event)));
}};
async function act(action, body) {{
  body.by = document.getElementById('by').value;
  const out = document.getElementById('result'); out.textContent = action + '...';
  const r = await fetch('/api/teams/' + encodeURIComponent(TEAM) + '/' + action, {{method: 'POST',
    headers: {{'Authorization': 'Bearer ' + TOKEN, 'Content-Type': 'application/json'}}, body: JSON.stringify(body)}});
  const v = await r.json();
  out.textContent = v.error ? 'refused: ' + v.error : (v.hint || v.explanation || '') + '\\nrecorded: ' +
    v.recorded.event + ' ' + v.recorded.detail;
}}
document.getElementById('ack').onclick = () => act('ack', {{}});
document.getElementById('hint').onclick = () => act('hint', {{}});
document.getElementById('resolve').onclick = () => act('resolve', {{}});
document.getElementById('diagnose').onclick = () => act('diagnose', {{text: document.getElementById('category').value,
  detail: document.getElementById('detail').value}});
document.getElementById('note-send').onclick = () => act('note', {{text: document.getElementById('note').value}});
"""


def facilitator(teams: list[str]) -> str:
    controls = "".join(
        f'<li>{escape(t)}: <button data-team="{escape(t)}" data-what="start">start</button> '
        f'<button data-team="{escape(t)}" data-what="abort">abort</button> '
        f'<button data-team="{escape(t)}" data-what="extend">extend +60 s</button> '
        f'<a class="report" data-team="{escape(t)}" href="#">report</a> '
        f'<a class="postmortem" data-team="{escape(t)}" href="#">postmortem</a></li>'
        for t in teams
    )
    body = f"""<h1 id="title">game day</h1><p class="muted">Facilitator: this page shows the truth
(fault, moment, seed). Do not put it on the projector; the room view is <a href="/">/</a>.</p>
{ROOM_HEAD}<h2>Control</h2><ul>{controls}</ul><button id="reveal-btn">Reveal (to the room, once all have ended)</button>
<p id="done"></p>"""
    script = """
const TOKEN = new URLSearchParams(location.search).get('token');
const es = new EventSource('/api/room/stream?token=' + encodeURIComponent(TOKEN));
es.onmessage = (m) => renderRoom(JSON.parse(m.data), true);
async function control(path, body) {
  const r = await fetch(path, {method: 'POST', headers: {'Authorization': 'Bearer ' + TOKEN,
    'Content-Type': 'application/json'}, body: JSON.stringify(body || {})});
  document.getElementById('done').textContent = JSON.stringify(await r.json());
}
document.querySelectorAll('button[data-team]').forEach(b => b.onclick = () =>
  control('/api/teams/' + encodeURIComponent(b.dataset.team) + '/control/' + b.dataset.what, {seconds: 60}));
document.getElementById('reveal-btn').onclick = () => control('/api/reveal');
document.querySelectorAll('a[data-team]').forEach(a => a.href = '/api/teams/' + encodeURIComponent(a.dataset.team)
  + '/' + a.className + '?token=' + encodeURIComponent(TOKEN));
"""
    return _page("drill: facilitator", body, script)
