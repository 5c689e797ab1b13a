// sitless status page: one EventSource, a map of desks, a clock that ticks the bouts locally.
"use strict";

const STATES = ["seated", "alerting", "snoozed", "paused", "vacant", "offline"];
const LABELS = {
  vacant: "vacant", seated: "seated", alerting: "move!", snoozed: "snoozed",
  paused: "paused", offline: "offline",
};
const SENTENCES = {
  vacant: "Nobody is sitting here.",
  seated: "Someone is sitting; the bout clock is running.",
  alerting: "Sat too long: the chair is asking for a break.",
  snoozed: "The alert was snoozed with the chair's button.",
  paused: "Alerts are paused (a meeting).",
  offline: "The chair is not connected.",
};

const desks = new Map();   // id -> {data, at (ms when received), el}
let limits = {};
let canPause = false;
let openDesk = null;

const $ = (id) => document.getElementById(id);

function fmtDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
  return `${m}:${String(r).padStart(2, "0")}`;
}

function fmtClock(ts) {
  if (!ts) return "–";
  return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function boutNow(entry) {
  const d = entry.data;
  if (!d.ticking) return d.seated_s;
  return d.seated_s + (Date.now() - entry.at) / 1000;
}

// Today's total grows with the running bout, which the page ticks itself.
function todayNow(entry) {
  const d = entry.data;
  if (d.today_seated_s == null) return null;
  return d.today_seated_s + (d.ticking ? boutNow(entry) - d.seated_s : 0);
}

function floorKey(d) { return `${d.site}/${d.floor}`; }

function floorTitle(d) {
  const floor = d.floor === "default" ? "Desks" : (/^\d+$/.test(d.floor) ? `Floor ${d.floor}` : d.floor);
  return d.site === "default" ? floor : `${floor} · ${d.site}`;
}

function ensureFloor(d) {
  const key = floorKey(d);
  let floor = document.querySelector(`section.floor[data-key="${CSS.escape(key)}"]`);
  if (!floor) {
    floor = document.createElement("section");
    floor.className = "floor";
    floor.dataset.key = key;
    floor.innerHTML = `<h2><span></span><small></small></h2><div class="zones"></div>`;
    floor.querySelector("h2 span").textContent = floorTitle(d);
    const all = [...document.querySelectorAll("section.floor")];
    const after = all.find((f) => f.dataset.key > key);
    $("floors").insertBefore(floor, after || null);
  }
  const zoneName = d.zone || "default";
  let zone = floor.querySelector(`.zone[data-zone="${CSS.escape(zoneName)}"]`);
  if (!zone) {
    zone = document.createElement("div");
    zone.className = "zone";
    zone.dataset.zone = zoneName;
    const h = document.createElement("h3");
    h.textContent = zoneName === "default" ? "" : zoneName;
    zone.appendChild(h);
    const grid = document.createElement("div");
    grid.className = "desks";
    zone.appendChild(grid);
    const holder = floor.querySelector(".zones");
    const after = [...holder.children].find((z) => z.dataset.zone > zoneName);
    holder.insertBefore(zone, after || null);
  }
  return zone.querySelector(".desks");
}

function makeCard(d) {
  const el = document.createElement("button");
  el.className = "desk";
  el.type = "button";
  el.dataset.desk = d.desk;
  el.innerHTML = `<div class="row"><span class="name"></span><span class="badge"></span></div>
    <div class="clock"></div>
    <div class="row"><span class="levels"><i></i><i></i><i></i></span><span class="retare" hidden>needs re-tare</span></div>
    <div class="bar"><i></i></div>`;
  el.querySelector(".name").textContent = d.desk;
  el.addEventListener("click", () => openSheet(d.desk));
  return el;
}

function place(entry) {
  const d = entry.data;
  const grid = ensureFloor(d);
  if (entry.el.parentElement !== grid) {
    const cards = [...grid.children];
    const after = cards.find((c) => c.dataset.desk > d.desk);
    grid.insertBefore(entry.el, after || null);
  }
}

function paint(entry) {
  const d = entry.data, el = entry.el;
  el.dataset.state = d.state;
  el.className = `desk s-${d.state}`;
  el.querySelector(".badge").textContent = LABELS[d.state] || d.state;
  const levels = el.querySelectorAll(".levels i");
  levels.forEach((dot, i) => dot.classList.toggle("on", i < d.level));
  el.querySelector(".levels").style.visibility = d.level > 0 ? "visible" : "hidden";
  el.querySelector(".retare").hidden = !d.needs_retare;
  tickOne(entry);
}

function tickOne(entry) {
  const d = entry.data, el = entry.el;
  const clock = el.querySelector(".clock");
  const bar = el.querySelector(".bar i");
  if (d.state === "offline") {
    clock.textContent = "offline";
    bar.style.width = "0";
    return;
  }
  if (d.state === "vacant") {
    clock.textContent = "free";
    bar.style.width = "0";
    return;
  }
  const s = boutNow(entry);
  clock.textContent = fmtDuration(s);
  const limit = limits.limit;
  bar.style.width = limit ? `${Math.min(100, (s / limit) * 100).toFixed(1)}%` : "0";
}

function upsert(d, at) {
  let entry = desks.get(d.desk);
  if (!entry) {
    entry = { data: d, at, el: makeCard(d) };
    desks.set(d.desk, entry);
  }
  const moved = floorKey(entry.data) !== floorKey(d) || entry.data.zone !== d.zone;
  entry.data = d;
  entry.at = at;
  if (moved) entry.el.remove();
  place(entry);
  paint(entry);
  if (openDesk === d.desk) fillSheet();
}

function remove(id) {
  const entry = desks.get(id);
  if (!entry) return;
  entry.el.remove();
  desks.delete(id);
  pruneEmpty();
}

function pruneEmpty() {
  document.querySelectorAll(".zone").forEach((z) => { if (!z.querySelector(".desk")) z.remove(); });
  document.querySelectorAll("section.floor").forEach((f) => { if (!f.querySelector(".desk")) f.remove(); });
}

function summarize() {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const { data } of desks.values()) counts[data.state] = (counts[data.state] || 0) + 1;
  for (const s of STATES) $(`n-${s}`).textContent = counts[s];
  $("empty").hidden = desks.size > 0;
  document.querySelectorAll("section.floor").forEach((f) => {
    const cards = [...f.querySelectorAll(".desk")];
    const seated = cards.filter((c) => c.dataset.state !== "vacant" && c.dataset.state !== "offline").length;
    f.querySelector("h2 small").textContent = `${seated} of ${cards.length} in use`;
  });
  const alerting = counts.alerting;
  document.title = alerting ? `(${alerting}) sitless · desks` : "sitless · desks";
}

function showLimits() {
  const parts = [];
  if (limits.limit) parts.push(`alert after ${fmtDuration(limits.limit)} seated`);
  if (limits.min_break) parts.push(`a real break is ${fmtDuration(limits.min_break)}`);
  if (limits.escalate_after) parts.push(`louder every ${fmtDuration(limits.escalate_after)}`);
  $("limits").textContent = parts.join(" · ");
}

function setLive(state, text) {
  $("live").dataset.live = state;
  $("live-text").textContent = text;
}

function openSheet(id) {
  openDesk = id;
  $("sheet").hidden = false;
  $("backdrop").hidden = false;
  $("pause-note").textContent = "";
  fillSheet();
}

function closeSheet() {
  openDesk = null;
  $("sheet").hidden = true;
  $("backdrop").hidden = true;
}

function fillSheet() {
  const entry = desks.get(openDesk);
  if (!entry) { closeSheet(); return; }
  const d = entry.data;
  const sheet = $("sheet");
  sheet.className = `sheet s-${d.state}`;
  $("sheet-title").textContent = d.desk;
  $("sheet-where").textContent = [d.site, d.floor !== "default" ? `floor ${d.floor}` : null, d.zone]
    .filter((x) => x && x !== "default").join(" · ");
  $("sheet-state").textContent = `${LABELS[d.state] || d.state} — ${SENTENCES[d.state] || ""}`;
  $("d-bout").textContent = d.state === "vacant" || d.state === "offline" ? "–" : fmtDuration(boutNow(entry));
  $("d-since").textContent = d.since ? fmtClock(d.since) : "–";
  $("d-level").textContent = d.level ? `${d.level} of 3` : "none";
  $("d-online").textContent = d.online ? "connected" : "offline";
  $("d-drift").textContent = d.drift == null ? "–"
    : `${Math.round(d.drift)}${d.needs_retare ? " (needs re-tare)" : ""}`;
  $("d-today").textContent = d.today_seated_s == null ? "–" : fmtDuration(todayNow(entry));
  $("d-bouts").textContent = d.today_bouts == null ? "–" : String(d.today_bouts);
  $("d-longest").textContent = d.longest_bout_s == null ? "–" : fmtDuration(d.longest_bout_s);
  $("d-alerts").textContent = d.today_alerts == null ? "–" : String(d.today_alerts);
  $("pause").hidden = !canPause || d.state === "offline";
}

let csrf = "";  // the session's CSRF token, sent with every POST

async function pauseDesk() {
  if (!openDesk) return;
  $("pause-note").textContent = "pausing…";
  try {
    const r = await fetch(`/api/desks/${encodeURIComponent(openDesk)}/pause`,
      { method: "POST", headers: { "X-Sitless": "1", "X-CSRF-Token": csrf } });
    const body = await r.json();
    $("pause-note").textContent = r.ok ? "Alerts paused for this bout." : (body.error || "could not pause");
  } catch (e) {
    $("pause-note").textContent = "could not reach the hub";
  }
}

function onSnapshot(body) {
  const at = Date.now();
  limits = body.limits || {};
  canPause = !!body.can_pause;
  csrf = body.csrf || "";
  if (body.notice) { $("notice").textContent = body.notice; $("notice").hidden = false; }
  if (body.title) $("title").textContent = body.title;
  showLimits();
  const seen = new Set();
  for (const d of body.desks) { upsert(d, at); seen.add(d.desk); }
  for (const id of [...desks.keys()]) if (!seen.has(id)) remove(id);
  summarize();
}

// Only the desks that changed arrive after the snapshot, together, with the ones that went.
function onChanges(body) {
  const at = Date.now();
  for (const d of body.desks || []) upsert(d, at);
  for (const id of body.gone || []) remove(id);
  summarize();
}

function connect() {
  const es = new EventSource("/events");
  es.addEventListener("open", () => setLive("live", "live"));
  es.addEventListener("error", () => setLive("lost", "reconnecting…"));
  es.addEventListener("snapshot", (e) => { onSnapshot(JSON.parse(e.data)); setLive("live", "live"); });
  es.addEventListener("desks", (e) => { onChanges(JSON.parse(e.data)); });
}

function tick() {
  for (const entry of desks.values()) if (entry.data.ticking) tickOne(entry);
  if (openDesk) {
    const entry = desks.get(openDesk);
    if (entry && entry.data.ticking) {
      $("d-bout").textContent = fmtDuration(boutNow(entry));
      if (entry.data.today_seated_s != null) $("d-today").textContent = fmtDuration(todayNow(entry));
    }
  }
}

$("sheet-close").addEventListener("click", closeSheet);
$("backdrop").addEventListener("click", closeSheet);
$("pause").addEventListener("click", pauseDesk);
document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeSheet(); });
setInterval(tick, 1000);
connect();
