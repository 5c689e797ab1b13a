// sitless sign-in: fetch a login CSRF token (its cookie is HttpOnly), then post the form as JSON.
"use strict";

const $ = (id) => document.getElementById(id);
let csrf = "";

async function prepare() {
  const r = await fetch("/api/session", { credentials: "same-origin" });
  const body = await r.json();
  if (r.ok) { location.replace("/"); return; }
  csrf = body.login_csrf || "";
}

async function signIn(event) {
  event.preventDefault();
  $("login-note").textContent = "signing in…";
  const r = await fetch("/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify({ user: $("user").value, password: $("password").value }),
  });
  const body = await r.json().catch(() => ({}));
  if (r.ok) { location.replace("/"); return; }
  $("password").value = "";
  $("login-note").textContent = body.error || `sign-in failed (${r.status})`;
  if (r.status === 403) await prepare();
}

$("login").addEventListener("submit", signIn);
prepare();
