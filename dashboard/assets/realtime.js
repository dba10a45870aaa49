// Push through Appwrite Realtime: one WebSocket (`{endpoint}/realtime?project=…&channels[]=…`,
// authenticated by the session cookie) whose `event` messages carry the changed row, which the
// views apply without asking the API again. `onState(true|false)` tells the views whether the
// socket is up, so they poll only while it is down. Protocol: docs/appwrite-notes.md § Realtime
// and Account (Appwrite 1.9.6 app/realtime.php).

import { config } from "./api.js";

/** The channel of every row of a table (`tablesdb.<db>.tables.<table>.rows`). */
export function rowsChannel(tableId) {
  return `tablesdb.${config.databaseId}.tables.${tableId}.rows`;
}

/**
 * Subscribes to `channels`; calls `onEvent(data)` with each event's data (`events`, `payload`…)
 * and `onState(up)` when the socket opens (after `connected`) or closes. Returns `stop()`.
 */
export function subscribe(channels, onEvent, onState = () => {}) {
  if (!config.realtime || typeof WebSocket === "undefined") {
    onState(false);
    return () => {};
  }
  const url = new URL(`${config.endpoint.replace(/\/$/, "")}/realtime`, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("project", config.project);
  for (const c of channels) url.searchParams.append("channels[]", c);
  let socket = null;
  let ping = null;
  let retry = null;
  let closed = false;
  let delay = 1000;
  let up = false;
  const state = (now) => {
    if (now !== up) {
      up = now;
      onState(now);
    }
  };
  const open = () => {
    socket = new WebSocket(url.toString());
    socket.onmessage = (e) => {
      let message;
      try {
        message = JSON.parse(e.data);
      } catch (err) {
        return; // Not ours to handle: ignore unreadable frames.
      }
      if (message.type === "connected") {
        delay = 1000;
        state(true);
      } else if (message.type === "event" && message.data && message.data.payload) {
        onEvent(message.data);
      }
    };
    socket.onopen = () => {
      // Appwrite drops idle sockets; its Web SDK pings every 20 s.
      ping = setInterval(() => socket.readyState === 1 && socket.send(JSON.stringify({ type: "ping" })), 20000);
    };
    socket.onclose = () => {
      clearInterval(ping);
      state(false);
      if (!closed) retry = setTimeout(open, (delay = Math.min(delay * 2, 60000)));
    };
  };
  // Until the first `connected`, the views treat the socket as down (and poll).
  onState(false);
  open();
  return () => {
    closed = true;
    clearTimeout(retry);
    clearInterval(ping);
    if (socket) socket.close();
  };
}
