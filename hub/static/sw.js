// The personal page's service worker: shows the chair's alerts as notifications
// (the page hands them over) and brings the page forward when one is tapped.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "alert") return;
  event.waitUntil(self.registration.showNotification(data.title, {
    body: data.body, tag: "sitless-alert", renotify: true, icon: "/static/icon.svg",
    data: { url: data.url || "/me" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/me";
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((wins) => {
    for (const win of wins) if (win.url.includes("/me")) return win.focus();
    return self.clients.openWindow(url);
  }));
});
