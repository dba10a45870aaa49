// How connected the page is, without the page: the Realtime socket's state (realtime.js) and
// whether the last request reached the server (api.js) make one mode: `connecting` (the first
// socket not up yet, nothing failed), `live` (socket up),
// `polling` (socket down, requests answered: the views poll every `pollMs`) or `offline`
// (requests do not reach the server: what the page shows may be stale). No DOM and no imports,
// so `testing/browser/connection.test.mjs` checks it in Node and api.js can report to it
// without a cycle; banner.js draws it.

/** A connection state: `socket(up)`, `request(reached)`, `mode()`, `on(listener)`. */
export function createConnection(now = () => Date.now()) {
  let up = false;
  // Whether the socket has ever reported: before that the page is connecting, not degraded.
  let told = false;
  let reached = true;
  let since = now();
  let mode = "connecting";
  const listeners = new Set();
  const recompute = () => {
    const next = !reached ? "offline" : up ? "live" : told ? "polling" : "connecting";
    if (next === mode) return;
    const previous = mode;
    mode = next;
    since = now();
    for (const l of [...listeners]) l({ mode, previous, since });
  };
  return {
    /** The Realtime socket is up (subscribed) or not. */
    socket(isUp) {
      up = Boolean(isUp);
      told = true;
      // A socket that answers proves the server is reachable.
      if (up) reached = true;
      recompute();
    },
    /** A request reached the server (any HTTP answer) or did not (a network error). */
    request(didReach) {
      reached = Boolean(didReach);
      recompute();
    },
    mode: () => mode,
    /** When the current mode began. */
    since: () => since,
    /** Calls `listener({mode, previous, since})` on every change of mode; returns its removal. */
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The page's one connection. */
export const connection = createConnection();
