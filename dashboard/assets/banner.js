// The connection banner both views show above their content (issue 28): nothing while live or
// connecting; "Live updates are off" while the socket is down and polling works; "Offline" with
// the time it began while requests fail, the root marked `data-connection="offline"` so rows dim,
// pulses stop and durations stop ticking (style.css, `refreshTimes` in ui.js). One toast when the
// page goes offline and one when it is back, never one per failed poll.

import { config } from "./api.js";
import { connection } from "./connection.js";
import { el, part, toast } from "./ui.js";

const clock = (at) => new Date(at).toLocaleTimeString();

/** The banner's words for `mode` (which began at `since`), or null for none. */
export function bannerText(mode, since, pollMs = config.pollMs) {
  const every = Math.round(pollMs / 1000);
  if (mode === "polling") return `Live updates are off: reconnecting. Refreshing every ${every} s instead.`;
  if (mode === "offline") return `Offline since ${clock(since)}: the server cannot be reached, so what you see may be out of date. Durations are stopped; retrying every ${every} s.`;
  return null;
}

let users = 0;
let stopListening = null;
let banner = null;

function draw({ mode, previous, since }) {
  const main = part("main");
  if (!main) return;
  const root = main.parentElement;
  if (root) root.setAttribute("data-connection", mode);
  const text = bannerText(mode, since);
  if (!banner || !banner.isConnected) {
    banner = el("div", { class: "connection-banner", role: "status", "aria-live": "polite", "data-part": "connection" });
    main.before(banner);
  }
  banner.hidden = !text;
  banner.className = `connection-banner c-${mode}`;
  banner.textContent = text || "";
  if (mode === previous) return;
  if (mode === "offline") toast("Offline: the server cannot be reached. Retrying…", "error");
  else if (previous === "offline") toast("Back online", "success", 4000);
}

/** Starts showing the connection (once however many views ask); returns the stop. */
export function showConnection() {
  users += 1;
  if (users === 1) {
    stopListening = connection.on(draw);
    draw({ mode: connection.mode(), previous: connection.mode(), since: connection.since() });
  }
  return () => {
    users -= 1;
    if (users > 0) return;
    if (stopListening) stopListening();
    stopListening = null;
  };
}
