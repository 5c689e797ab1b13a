// sitless zones page: counts per zone from the event stream; it never receives a desk id.
"use strict";

const $ = (id) => document.getElementById(id);
let csrf = "";

function label(value) { return value === "_merged" ? "pooled" : value; }

function render(body) {
  const main = $("zones");
  main.replaceChildren();
  if (!body.zones.length) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "No zone has enough desks to show yet.";
    main.append(p);
  }
  for (const z of body.zones) {
    const card = document.createElement("article");
    card.className = "zone";
    card.dataset.zone = `${z.site}/${z.floor}/${z.zone}`;
    const h = document.createElement("h2");
    h.textContent = `Zone ${label(z.zone)}`;
    const where = document.createElement("p");
    where.className = "where";
    where.textContent = `Floor ${label(z.floor)} · ${label(z.site)}`;
    const n = document.createElement("div");
    n.className = "n";
    n.textContent = `${z.occupied} / ${z.desks}`;
    const note = document.createElement("p");
    note.className = "where";
    note.textContent = `occupied · ${z.alerting} need a break · ${z.online} online`;
    card.append(h, where, n, note);
    main.append(card);
  }
  if (body.privacy) $("privacy").textContent = body.privacy;
  if (body.title) $("title").textContent = body.title;
  if (body.csrf) csrf = body.csrf;
  if (body.user) $("whoami").textContent = `signed in as ${body.user}`;
}

function setLive(state, text) {
  $("live").dataset.live = state;
  $("live-text").textContent = text;
}

const es = new EventSource("/events");
es.addEventListener("open", () => setLive("live", "live"));
es.addEventListener("error", () => setLive("lost", "reconnecting…"));
es.addEventListener("zones", (e) => { render(JSON.parse(e.data)); setLive("live", "live"); });

$("logout").addEventListener("click", async (e) => {
  e.preventDefault();
  await fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": csrf } });
  location.replace("/login");
});
