// Push through Appwrite Realtime, the way the official Web SDK (25) does it: one WebSocket
// (`{endpoint}/realtime?project=…`); after its `connected` message, an `authentication` message
// when the browser sent no session cookie with the upgrade (`connected` names no user: the page
// is on another site than the endpoint and third-party cookies are blocked) but the page holds
// a session (`session()` in api.js), then a `subscribe` message with the channels. Each `event`
// message carries the changed row, which the views apply without asking the API again.
// `onState(true|false)` tells the views whether the socket is up (so they poll only while it is
// down): up once Appwrite has answered every message sent after `connected`, so no change after
// that is missed. The socket's state also goes to the page's connection (connection.js), which
// the banner shows (banner.js) while the page is not live. Protocol: docs/appwrite-notes.md §
// Realtime and Account (Appwrite 1.9.6 app/realtime.php) and § Sessions across sites.

import { config, session } from "./api.js";
import { showConnection } from "./banner.js";
import { connection } from "./connection.js";

/** The channel of every row of a table (`tablesdb.<db>.tables.<table>.rows`). */
export function rowsChannel(tableId) {
  return `tablesdb.${config.databaseId}.tables.${tableId}.rows`;
}

/** A subscription id Appwrite accepts (letters, digits, at most 36), unique like the SDK's. */
function subscriptionId() {
  const random = Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, "0");
  return `jm${Date.now().toString(16)}${random}`;
}

/**
 * Subscribes to `channels`; calls `onEvent(data)` with each event's data (`events`, `payload`…)
 * and `onState(up)` when the socket is up (subscribed, and signed in where it had to be) or
 * closes. Returns `stop()`.
 */
export function subscribe(channels, onEvent, onState = () => {}) {
  // The banner says when the page is not live (banner.js); it goes with the last subscription.
  const hideConnection = showConnection();
  if (!config.realtime || typeof WebSocket === "undefined") {
    connection.socket(false);
    onState(false);
    return hideConnection;
  }
  const url = new URL(`${config.endpoint.replace(/\/$/, "")}/realtime`, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("project", config.project);
  const id = subscriptionId();
  let socket = null;
  let ping = null;
  let retry = null;
  let closed = false;
  let delay = 1000;
  let up = false;
  // Answers still awaited for the messages sent after `connected`.
  let awaited = 0;
  const state = (now) => {
    if (now) connection.socket(true);
    if (now !== up) {
      up = now;
      onState(now);
    }
  };
  const open = () => {
    socket = new WebSocket(url.toString());
    const send = (message) => socket.send(JSON.stringify(message));
    socket.onmessage = (e) => {
      let message;
      try {
        message = JSON.parse(e.data);
      } catch (err) {
        return; // Not ours to handle: ignore unreadable frames.
      }
      const data = message.data || {};
      if (message.type === "connected") {
        awaited = 1;
        const token = session();
        if (token && !data.user) {
          awaited += 1;
          send({ type: "authentication", data: { session: token } });
        }
        send({ type: "subscribe", data: [{ subscriptionId: id, channels, queries: [] }] });
      } else if (message.type === "response" && awaited > 0 && (data.to === "authentication" || data.to === "subscribe")) {
        awaited -= 1;
        if (awaited === 0) {
          delay = 1000;
          state(true);
        }
      } else if (message.type === "error" && awaited > 0) {
        // Not signed in or not subscribed: this socket would stay silent. Poll, and try again.
        awaited = 0;
        socket.close();
      } else if (message.type === "event" && data.payload) {
        onEvent(data);
      }
    };
    socket.onopen = () => {
      // Appwrite drops idle sockets; its Web SDK pings every 20 s.
      ping = setInterval(() => socket.readyState === 1 && send({ type: "ping" }), 20000);
    };
    socket.onclose = () => {
      clearInterval(ping);
      awaited = 0;
      // Told even when it never came up, so the page stops saying it is connecting.
      if (!closed) connection.socket(false);
      state(false);
      if (!closed) retry = setTimeout(open, (delay = Math.min(delay * 2, 60000)));
    };
  };
  // Until the socket is up, the views treat it as down (and poll).
  onState(false);
  open();
  return () => {
    closed = true;
    clearTimeout(retry);
    clearInterval(ping);
    if (socket) socket.close();
    hideConnection();
  };
}
