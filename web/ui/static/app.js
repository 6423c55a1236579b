// simgate status page: the few live parts. Everything else is plain HTML.
"use strict";

// The overview's modem cards, re-rendered by the server and pushed over
// Server-Sent Events whenever a modem's state, signal or queue changes.
function live() {
  const el = document.getElementById("live");
  if (!el || !window.EventSource) return;
  const es = new EventSource(el.dataset.live);
  es.addEventListener("overview", (ev) => {
    el.innerHTML = ev.data;
    el.dataset.updates = String(Number(el.dataset.updates || 0) + 1);
  });
  // The session ended (logout, expiry): no stream without one.
  es.addEventListener("logout", () => {
    es.close();
    window.location.assign("/login");
  });
  // Closing before unload keeps the browser from reporting the torn stream.
  window.addEventListener("pagehide", () => es.close());
}

// The virtual phone on "Try it": polled until the code's SMS arrives.
function phone() {
  const el = document.getElementById("phone-screen");
  if (!el) return;
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    try {
      const res = await fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (res.ok) {
        const html = await res.text();
        if (html !== el.dataset.last) {
          el.dataset.last = html;
          el.innerHTML = html;
        }
      }
    } catch (e) {
      // The gateway restarting: try again on the next tick.
    }
    setTimeout(poll, 1000);
  };
  window.addEventListener("pagehide", () => { stopped = true; });
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  live();
  phone();
});
