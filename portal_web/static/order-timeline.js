// The order page's sync timeline, kept current while the page is open: every second the page
// asks for the timeline alone (/portal/orders/{id}/timeline) and swaps it in when the order's
// stream has moved on, telling a screen reader the new status (the polite live region).
// Without this script the page shows the status at load, with a Refresh link.
// Each request counts as activity for the portal session, so the asking stops once the person
// has not touched the page for a while: a page left open must not keep a session alive.
(() => {
  "use strict";
  const POLL_MS = 1000;
  const RETRY_MS = 5000; // after an outage or a failed request: no hammering a busy server
  const IDLE_MS = 10 * 60 * 1000; // well inside the session's idle timeout (30 minutes)
  let box = document.getElementById("timeline");
  const news = document.getElementById("timeline-news");
  const refresh = document.getElementById("timeline-refresh");
  if (!box || !news || !box.dataset.source) return;
  const source = box.dataset.source;

  const say = (message) => {
    if (refresh) refresh.textContent = message;
  };
  say("This status updates by itself while the page is open.");

  const stop = (message) => {
    if (refresh) {
      refresh.textContent = message + " ";
      const again = document.createElement("a");
      again.href = window.location.pathname;
      again.textContent = "Reload the page";
      refresh.appendChild(again);
    }
  };

  let lastActivity = Date.now();
  let paused = false;
  const active = () => {
    lastActivity = Date.now();
    if (paused) { // back at the page: catch up at once
      paused = false;
      say("This status updates by itself while the page is open.");
      later(0);
    }
  };
  for (const event of ["pointerdown", "pointermove", "keydown", "scroll", "focus"]) {
    window.addEventListener(event, active, { passive: true });
  }

  const later = (ms) => window.setTimeout(poll, ms);

  async function poll() {
    if (Date.now() - lastActivity > IDLE_MS) {
      paused = true;
      return say("Live updates paused while you were away; they resume when you come back.");
    }
    if (document.hidden) return later(POLL_MS); // nobody is looking: ask again later
    let response;
    try {
      response = await fetch(source, {
        cache: "no-store",
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
    } catch (error) {
      return later(RETRY_MS);
    }
    // Signed out (sent to the sign-in page), or the order is no longer the visitor's to see.
    if (response.redirected || response.status === 401 || response.status === 403 ||
        response.status === 404) {
      return stop("The status can no longer be updated here.");
    }
    if (!response.ok) return later(RETRY_MS);
    const holder = document.createElement("template");
    holder.innerHTML = await response.text();
    const fresh = holder.content.getElementById("timeline");
    if (!fresh) return stop("The status can no longer be updated here.");
    if (fresh.dataset.version !== box.dataset.version) {
      // A new order reached the views: the whole page has more to show than the timeline.
      if (box.dataset.version === "0") return window.location.reload();
      box.replaceWith(fresh);
      box = fresh;
      news.textContent = fresh.dataset.announce || "";
    }
    if (fresh.dataset.settled === "true") { // invoiced or canceled: no more steps to wait for
      return say("This order has taken its last step.");
    }
    return later(POLL_MS);
  }

  if (box.dataset.settled === "true") say("This order has taken its last step.");
  else later(POLL_MS);
})();
