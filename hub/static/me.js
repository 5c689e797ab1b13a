// The person's own page: one desk's bout clock, its alert and movement, and its day of breaks.
"use strict";

const params = new URLSearchParams(location.search);
const deskQuery = params.get("desk") ? `?desk=${encodeURIComponent(params.get("desk"))}` : "";
const $ = (id) => document.getElementById(id);
const state = { body: null, at: 0, csrf: "", lastState: null, lastLevel: 0 };
window.sitlessNotices = [];  // what this page handed to the browser, newest last

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(r).padStart(2, "0")}`;
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const m = Math.round(seconds / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

const WORDS = {
  seated: "Seated", alerting: "Time for a break", snoozed: "Snoozed", paused: "Paused",
  vacant: "Away from the chair", offline: "The chair is offline",
};

function render() {
  const body = state.body;
  if (!body) return;
  const desk = body.desk;
  const gone = (Date.now() - state.at) / 1000;
  const seated = desk.seated_s + (desk.ticking ? gone : 0);
  $("me").dataset.state = desk.state;
  $("desk-name").textContent = desk.desk;
  $("bout").textContent = clock(seated);
  $("state-line").textContent = WORDS[desk.state] || desk.state;
  if (body.next_alert_s !== null && desk.state === "seated") {
    $("next-line").textContent = `next alert in ${clock(body.next_alert_s - gone)}`;
  } else if (desk.state === "alerting" && body.next_alert_s !== null) {
    $("next-line").textContent = `stronger in ${clock(body.next_alert_s - gone)} - stand up to stop it`;
  } else if (desk.state === "paused" || desk.state === "snoozed") {
    $("next-line").textContent = "alerts wait; time still counts";
  } else {
    $("next-line").textContent = "";
  }
  const alerting = desk.state === "alerting";
  $("alert").hidden = !alerting;
  if (alerting && body.move) {
    $("move-name").textContent = body.move.name;
    $("move-steps").replaceChildren(...body.move.steps.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    const dose = [];
    if (body.move.hold_s) dose.push(`hold ${body.move.hold_s} s`);
    if (body.move.sets && body.move.reps) dose.push(`${body.move.sets} × ${body.move.reps}`);
    $("move-dose").textContent = dose.join(" · ");
  } else if (alerting) {
    $("move-name").textContent = "Stand up and move for two minutes";
    $("move-steps").replaceChildren();
    $("move-dose").textContent = "";
  }
  $("snooze").disabled = !body.can_snooze;
  $("snooze").title = body.snooze_refused || "";
  $("pause").disabled = !body.can_pause;
  renderBreaks(body.breaks, desk);
}

function renderBreaks(breaks, desk) {
  if (!breaks) {
    $("t-seated").textContent = minutes(desk.today_seated_s);
    $("t-longest").textContent = minutes(desk.longest_bout_s);
    return;
  }
  const t = breaks.today;
  $("t-seated").textContent = minutes(desk.today_seated_s ?? null);
  $("t-longest").textContent = minutes(Math.max(t.longest_s, desk.longest_bout_s || 0));
  $("t-breaks").textContent = `${t.breaks_after_alert} / ${t.alerted_bouts}`;
  $("t-response").textContent = t.median_responded_s === null ? "-" : `${Math.round(t.median_responded_s)} s`;
  $("t-compliance").textContent = t.compliance === null ? "-" : `${Math.round(t.compliance * 100)} %`;
  $("t-streak").textContent = `${breaks.streak} day${breaks.streak === 1 ? "" : "s"}`;
  const w = breaks.week;
  $("week-line").textContent = `This week: ${w.met_days} of ${w.needed} days on goal${w.met ? " - goal met" : ""}`;
  const most = Math.max(1, ...breaks.last7.map((d) => d.longest_s));
  $("chart").replaceChildren(...breaks.last7.map((d) => {
    const bar = document.createElement("div");
    bar.className = "bar" + (!d.bouts ? " empty" : d.met_goal ? "" : " missed");
    bar.title = `${d.day}: ${d.bouts} bouts, longest ${minutes(d.longest_s)}`;
    const fill = document.createElement("i");
    fill.style.height = `${Math.round((d.longest_s / most) * 100)}%`;
    const label = document.createElement("span");
    label.textContent = new Date(`${d.day}T12:00:00`).toLocaleDateString(undefined, { weekday: "short" });
    bar.append(fill, label);
    return bar;
  }));
}

async function notify(body) {
  const move = body.move;
  const title = move ? `Time to move: ${move.name}` : "Time to move";
  const text = move ? move.steps.join(" ") : "Stand up and move for two minutes.";
  window.sitlessNotices.push({ title, body: text, asked: Notification.permission });
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const reg = await navigator.serviceWorker.ready;
    await reg.showNotification(title, { body: text, tag: "sitless-alert", renotify: true, icon: "/static/icon.svg", data: { url: "/me" + deskQuery } });
  } catch (err) {
    new Notification(title, { body: text, tag: "sitless-alert" });
  }
}

async function load() {
  const r = await fetch("/api/me" + deskQuery, { cache: "no-store" });
  if (r.status === 401) { location.href = "/login"; return; }
  const body = await r.json();
  if (!r.ok) { $("live").textContent = body.error || `error ${r.status}`; return; }
  const desk = body.desk;
  const rising = desk.state === "alerting" && (state.lastState !== "alerting" || desk.level > state.lastLevel);
  if (rising && state.lastState !== null) notify(body);
  state.lastState = desk.state;
  state.lastLevel = desk.level;
  state.body = body;
  state.at = Date.now();
  state.csrf = body.csrf || state.csrf;
  $("live").textContent = "live";
  render();
}

async function press(action) {
  $("note").textContent = "";
  const r = await fetch(`/api/me/${action}${deskQuery}`, {
    method: "POST", headers: { "X-Sitless": "1", "X-CSRF-Token": state.csrf },
  });
  const body = await r.json().catch(() => ({}));
  $("note").textContent = r.ok ? (action === "pause" ? "Paused: alerts wait, time still counts." : "Snoozed.") : (body.error || `error ${r.status}`);
  await load();
}

$("snooze").addEventListener("click", () => press("snooze"));
$("pause").addEventListener("click", () => press("pause"));
$("notify").addEventListener("click", async () => {
  const answer = await Notification.requestPermission();
  $("note").textContent = answer === "granted" ? "This device will show the chair's alerts." : "Notifications are blocked in this browser.";
});

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
const events = new EventSource("/events");
events.addEventListener("desks", (e) => {
  const data = JSON.parse(e.data);
  const mine = state.body && state.body.desk.desk;
  if (mine && (data.desks || []).some((d) => d.desk === mine)) load();
});
events.addEventListener("error", () => { $("live").textContent = "reconnecting"; });
load();
setInterval(render, 1000);
setInterval(load, 30000);
