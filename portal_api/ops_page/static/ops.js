// The lag section: polls GET /ops/lag (same origin, the session cookie) and draws what it got.
// Everything is written with textContent / setAttribute: the data never becomes markup.
(() => {
  "use strict";
  const POLL_MS = 3000;
  const KEEP = 100; // samples per line: five minutes at one every three seconds
  const COLORS = [
    "#2457c5", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285",
    "#5f3dc4", "#e67700", "#495057", "#74b816", "#1098ad", "#a61e4d",
  ];
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const history = new Map(); // series -> [{t, pending, age}]
  let metric = "age";

  const seconds = (s) => {
    if (s === null || s === undefined) return "—";
    if (s < 60) return `${s.toFixed(1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  };
  const count = (n, capped) => `${n}${capped ? "+" : ""}`;

  function cell(row, text, cls) {
    const td = row.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function badge(td, text, cls) {
    const span = document.createElement("span");
    span.className = `badge ${cls}`;
    span.textContent = text;
    td.replaceChildren(span);
  }

  function fillBacklog(lag) {
    const body = $("lag-backlog");
    body.replaceChildren();
    const rows = [
      ...lag.maps.map((m) => ({ kind: `map, ${m.direction}`, ...m, series: `${m.name} (${m.direction})` })),
      ...lag.projections.map((p) => ({ kind: "projection", ...p, series: p.name })),
    ];
    for (const r of rows) {
      const row = body.insertRow();
      row.dataset.series = r.series;
      cell(row, r.name);
      cell(row, r.kind, "muted");
      const state = cell(row, "");
      if (r.paused) badge(state, "paused", "paused");
      cell(row, count(r.pending, r.pending_capped), "num pending");
      cell(row, seconds(r.oldest_pending_age_s), "num");
      cell(row, seconds(r.since_last_applied_s), "num");
    }
  }

  function fillKafka(lag) {
    const groups = $("lag-groups");
    groups.replaceChildren();
    for (const g of lag.groups) {
      const row = groups.insertRow();
      if (g.stuck_partitions) row.className = "stuck";
      cell(row, g.group, "mono");
      cell(row, g.topic, "mono");
      cell(row, String(g.lag), "num");
      const stuck = cell(row, "", "num");
      if (g.stuck_partitions) badge(stuck, `${g.stuck_partitions} stuck`, "stuck");
      else stuck.textContent = "0";
    }
    // Partitions at zero lag say nothing; the ones with records waiting (or stuck) are listed.
    const waiting = lag.partitions.filter((p) => p.lag > 0 || p.stuck);
    const parts = $("lag-partitions");
    parts.replaceChildren();
    for (const p of waiting) {
      const row = parts.insertRow();
      if (p.stuck) row.className = "stuck";
      cell(row, p.group, "mono");
      cell(row, `${p.topic} [${p.partition}]`, "mono");
      cell(row, String(p.committed), "num");
      cell(row, String(p.end), "num");
      cell(row, String(p.lag), "num");
      const flag = cell(row, seconds(p.unchanged_for_s), "num");
      if (p.stuck) {
        flag.append(" ");
        const span = document.createElement("span");
        span.className = "badge stuck";
        span.textContent = "stuck";
        flag.append(span);
      }
    }
    $("lag-partitions-table").hidden = !waiting.length;
    const hidden = lag.partitions.length - waiting.length;
    $("lag-partitions-note").textContent = waiting.length
      ? `${hidden} partitions with nothing waiting are not listed.`
      : `Nothing waits on any of the ${lag.partitions.length} partitions.`;
    const relay = lag.relay;
    $("lag-relay").textContent =
      `Outbox relay: ${relay.lag} events not yet published (store ${relay.store_position}, ` +
      `published ${relay.published_position}; last published ${seconds(relay.since_last_published_s)} ago).`;
  }

  function remember(lag) {
    const t = Date.parse(lag.sampled_at) || Date.now();
    const seen = new Set();
    const add = (series, r) => {
      seen.add(series);
      if (!history.has(series)) history.set(series, []);
      const points = history.get(series);
      points.push({ t, pending: r.pending, age: r.oldest_pending_age_s || 0 });
      if (points.length > KEEP) points.shift();
    };
    lag.maps.forEach((m) => add(`${m.name} (${m.direction})`, m));
    lag.projections.forEach((p) => add(p.name, p));
    for (const name of [...history.keys()]) if (!seen.has(name)) history.delete(name);
  }

  function draw() {
    const svg = $("lag-chart");
    const width = svg.clientWidth || 800;
    const height = 180;
    const left = 48, right = 8, top = 8, bottom = 20;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    const all = [...history.values()].flat();
    if (!all.length) return;
    const t0 = Math.min(...all.map((p) => p.t));
    const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
    const top_value = Math.max(1, ...all.map((p) => p[metric]));
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - right);
    const y = (v) => top + (1 - v / top_value) * (height - top - bottom);
    const line = (x1, y1, x2, y2) => {
      const l = document.createElementNS(SVG, "line");
      Object.entries({ x1, y1, x2, y2, class: "axis" }).forEach(([k, v]) => l.setAttribute(k, v));
      svg.append(l);
    };
    const label = (text, lx, ly, anchor) => {
      const el = document.createElementNS(SVG, "text");
      el.setAttribute("x", lx);
      el.setAttribute("y", ly);
      el.setAttribute("text-anchor", anchor);
      el.textContent = text;
      svg.append(el);
    };
    line(left, top, left, height - bottom);
    line(left, height - bottom, width - right, height - bottom);
    label(metric === "age" ? seconds(top_value) : String(top_value), left - 4, top + 10, "end");
    label("0", left - 4, height - bottom, "end");
    label(`last ${Math.round((t1 - t0) / 1000)} s`, width - right, height - 4, "end");
    const legend = $("lag-legend");
    legend.replaceChildren();
    [...history.entries()].forEach(([name, points], i) => {
      const color = COLORS[i % COLORS.length];
      const path = document.createElementNS(SVG, "polyline");
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", color);
      path.setAttribute("stroke-width", "2");
      path.setAttribute("points", points.map((p) => `${x(p.t).toFixed(1)},${y(p[metric]).toFixed(1)}`).join(" "));
      const title = document.createElementNS(SVG, "title");
      title.textContent = name;
      path.append(title);
      svg.append(path);
      const key = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = color;
      key.append(swatch, name);
      legend.append(key);
    });
  }

  function unavailable(why) {
    $("lag-status").textContent = why;
    $("lag-body").hidden = true;
  }

  async function poll() {
    let response;
    try {
      response = await fetch("/ops/lag", {
        headers: { Accept: "application/json", "X-Dualsync-Ops": "1" },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      unavailable("lag unavailable: the API did not answer");
      return;
    }
    if (response.status === 401) {
      window.location.assign("/ops/login");
      return;
    }
    if (!response.ok) {
      unavailable(response.status === 404 ? "lag unavailable" : `lag unavailable (HTTP ${response.status})`);
      return;
    }
    const lag = await response.json();
    remember(lag);
    fillBacklog(lag);
    fillKafka(lag);
    draw();
    $("lag-body").hidden = false;
    $("lag-status").textContent = `sampled ${new Date(lag.sampled_at).toLocaleTimeString()}; ` +
      `a partition is stuck when records wait and its offset has not moved for ${seconds(lag.stuck_after_s)}`;
  }

  $("lag-metric").addEventListener("change", (event) => {
    metric = event.target.value;
    draw();
  });
  window.addEventListener("resize", draw);
  poll();
  setInterval(poll, POLL_MS);
})();
