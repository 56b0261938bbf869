"""The ops page's HTML, built from plain rows with every value escaped (no template engine).

Styles and the lag script are package files inlined under a per-response CSP nonce, so the page
is one request and the browser runs no script the API did not write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any, Literal

__all__ = ["Flash", "login_page", "ops_page", "refused_page", "unavailable_page"]

Flash = tuple[Literal["ok", "error"], str]
"""A one-time message after an action: its kind and text."""


@cache
def _static(name: str) -> str:
    return files("portal_api.ops_page").joinpath("static", name).read_text("utf-8")


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _when(value: datetime | str | None) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f'<time datetime="{_e(value.isoformat())}">{_e(f"{value:%Y-%m-%d %H:%M:%S}")}</time>'


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _document(title: str, body: str, nonce: str, *, script: bool = False, head: str = "") -> str:
    js = f'<script nonce="{nonce}">{_static("ops.js")}</script>' if script else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)}</title>{head}"
        f'<style nonce="{nonce}">{_static("ops.css")}</style></head>'
        f"<body>{body}{js}</body></html>"
    )


def _flash(flash: Flash | None) -> str:
    if flash is None:
        return ""
    kind, text = flash
    return f'<p class="flash {_e(kind)}" id="flash" role="status">{_e(text)}</p>'


def login_page(nonce: str, *, error: str | None = None) -> str:
    """The sign-in form: the administrator credential, pasted."""
    problem = _flash(("error", error)) if error else ""
    body = f"""<main class="login"><section>
<h2>dualsync ops: sign in</h2>{problem}
<form method="post" action="/ops/login">
<label for="credential">Administrator credential</label>
<input type="password" id="credential" name="credential" autocomplete="off" required autofocus>
<p class="muted">The bootstrap <code>DUALSYNC_ADMIN_TOKEN</code>, or the credential of a contact
with the Administrator web role.</p>
<button type="submit" class="primary" id="sign-in">Sign in</button>
</form></section></main>"""
    return _document("dualsync ops: sign in", body, nonce)


def refused_page(nonce: str, detail: str) -> str:
    """403: signed in, but not as an Administrator."""
    body = f"""<main class="login"><section id="refused">
<h2>Not an Administrator</h2><p>{_e(detail)}</p>
<form method="post" action="/ops/logout"><button type="submit" id="sign-out">
Sign in with another credential</button></form></section></main>"""
    return _document("dualsync ops: refused", body, nonce)


def unavailable_page(nonce: str, detail: str, retry_after_s: int) -> str:
    """503: Kafka or PostgreSQL is away; the page tries again by itself."""
    body = f"""<main class="login"><section id="unavailable" role="alert">
<h2>dualsync is waiting for a dependency</h2><p>{_e(detail)}</p>
<p class="muted">Nothing was changed. This page loads again in {retry_after_s} seconds, or
<a href="/ops">try again now</a>.</p></section></main>"""
    refresh = f'<meta http-equiv="refresh" content="{retry_after_s}; url=/ops">'
    return _document("dualsync ops: unavailable", body, nonce, head=refresh)


def ops_page(
    nonce: str,
    *,
    actor: str,
    flash: Flash | None,
    dead_letters: Sequence[Mapping[str, Any]],
    more_dead_letters: bool = False,
    maps: Sequence[Mapping[str, Any]],
) -> str:
    """The whole page: lag (filled in by the script), dead letters, maps."""
    body = f"""<header><h1>dualsync ops</h1><span class="who">signed in as {_e(actor)}</span>
<form method="post" action="/ops/logout"><button type="submit" id="sign-out">Sign out</button>
</form></header><main>{_flash(flash)}{_lag_section()}
{_dead_letter_section(dead_letters, more_dead_letters)}{_map_section(maps)}</main>"""
    return _document("dualsync ops", body, nonce, script=True)


def _lag_section() -> str:
    return """<section id="lag"><div class="lag-head"><h2>Lag</h2>
<span class="muted" id="lag-status">loading…</span>
<select id="lag-metric" aria-label="chart"><option value="age">oldest waiting record, age</option>
<option value="pending">records waiting</option></select></div>
<div id="lag-body" hidden>
<svg id="lag-chart" role="img" aria-label="lag per map and projection over time"></svg>
<div class="legend" id="lag-legend"></div>
<table><thead><tr><th>map or projection</th><th></th><th>state</th><th class="num">waiting</th>
<th class="num">oldest waiting</th><th class="num">since last applied</th></tr></thead>
<tbody id="lag-backlog"></tbody></table>
<h3>Kafka consumer groups</h3>
<table><thead><tr><th>group</th><th>topic</th><th class="num">offset lag</th>
<th class="num">stuck partitions</th></tr></thead><tbody id="lag-groups"></tbody></table>
<table id="lag-partitions-table"><thead><tr><th>group</th><th>partition</th>
<th class="num">committed</th>
<th class="num">end</th><th class="num">lag</th><th class="num">offset unchanged for</th></tr>
</thead><tbody id="lag-partitions"></tbody></table>
<p class="muted" id="lag-partitions-note"></p><p id="lag-relay"></p></div></section>"""


def _field_errors(errors: Iterable[Mapping[str, Any]] | None) -> str:
    items = "".join(
        f"<li><code>{_e(e.get('field'))}</code>: {_e(e.get('message'))}</li>" for e in errors or []
    )
    return f'<ul class="errors">{items}</ul>' if items else '<span class="muted">—</span>'


def _dead_letter_row(row: Mapping[str, Any]) -> str:
    letter_id = _e(row["dead_letter_id"])
    where = row.get("map_name") or row.get("handler")
    parked = int(row.get("parked") or 0)
    held = f'<br><span class="muted">{_plural(parked, "record")} held behind it</span>'
    held = held if parked else ""
    errors = row.get("errors") or []
    # With fields at fault the message only lists them again; without, it is all there is.
    message = "" if errors else f"<br>{_e(row.get('error_message'))}"
    return f"""<tr id="dl-{letter_id}" class="dead-letter">
<td>{_e(where)}<br><span class="muted">{_e(row.get("consumer"))}</span></td>
<td class="key"><code>{_e(row.get("record_key"))}</code>{held}<br>
<a href="/ops/deadletters/{letter_id}" target="_blank" rel="noopener">whole record</a></td>
<td><b>{_e(row.get("error_class"))}</b>{message}</td>
<td>{_field_errors(errors)}</td>
<td class="when">first {_when(row.get("first_failed_at"))}<br>
last {_when(row.get("last_failed_at"))}<br>
<span class="muted">{_plural(row.get("attempts") or 0, "attempt")}</span></td>
<td><form class="inline" method="post" action="/ops/page/deadletters/{letter_id}/redrive">
<button type="submit" class="primary redrive">Redrive</button></form>
<form class="inline" method="post" action="/ops/page/deadletters/{letter_id}/discard">
<input type="text" name="reason" placeholder="reason" required maxlength="500"
aria-label="reason for discarding"><button type="submit" class="danger discard">Discard</button>
</form></td></tr>"""


def _dead_letter_section(rows: Sequence[Mapping[str, Any]], more: bool) -> str:
    if not rows:
        listing = '<p class="muted" id="no-dead-letters">No open dead letters.</p>'
    else:
        listing = (
            "<table><thead><tr><th>map</th><th>key</th><th>error</th><th>fields at fault</th>"
            "<th>first / last failure</th><th></th></tr></thead><tbody>"
            + "".join(_dead_letter_row(row) for row in rows)
            + "</tbody></table>"
        )
    count = f"{len(rows)}+ open, newest first" if more else f"{len(rows)} open"
    return f"""<section id="deadletters"><h2>Dead letters <span class="count">({count})</span>
</h2><p class="muted">Redrive re-validates the record against today's data: fix the
reference data first (a missing product, a customer), then redrive.</p>{listing}</section>"""


def _map_row(row: Mapping[str, Any]) -> str:
    name = _e(row["name"])
    if row.get("paused"):
        state = '<span class="badge paused">paused</span>'
        by = f"by {_e(row.get('paused_by') or 'unknown')}"
        why = f" ({_e(row['paused_reason'])})" if row.get("paused_reason") else ""
        note = f'<br><span class="muted">{_e(row["note"])}</span>' if row.get("note") else ""
        detail = f"{by}{why}, {_when(row.get('changed_at'))}{note}"
        action = f"""<form class="inline" method="post" action="/ops/page/maps/{name}/resume">
<button type="submit" class="primary resume">Resume</button></form>"""
    else:
        state = '<span class="badge running">running</span>'
        detail = ""
        action = f"""<form class="inline" method="post" action="/ops/page/maps/{name}/pause">
<input type="text" name="note" placeholder="note (optional)" maxlength="500"
aria-label="why it is paused"><button type="submit" class="pause">Pause</button></form>"""
    return f"""<tr id="map-{name}" class="map"><td>{name}</td>
<td class="muted">{_e(row.get("direction"))}</td><td>{state}</td><td>{detail}</td>
<td class="num">{_e(row.get("open_dead_letters", ""))}</td>
<td class="num">{_e(row.get("parked_records", ""))}</td><td>{action}</td></tr>"""


def _map_section(rows: Sequence[Mapping[str, Any]]) -> str:
    body = "".join(_map_row(row) for row in rows)
    return f"""<section id="maps"><h2>Maps</h2><p class="muted">A paused map's records wait in
Kafka, in order, and are caught up on resume.</p>
<table><thead><tr><th>map</th><th>direction</th><th>state</th><th>paused</th>
<th class="num">open dead letters</th><th class="num">records held</th><th></th></tr></thead>
<tbody>{body}</tbody></table></section>"""
