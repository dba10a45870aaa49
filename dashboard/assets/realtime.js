// Optional push through Appwrite Realtime (config `realtime: true`, deployed with a session):
// one raw WebSocket on the jobs table's row channel. An event only triggers an early refresh
// through the API, which owns the view of a job (durations, legal actions), so polling stays
// the single source of truth and the fallback when the socket is down.

import { config } from "./api.js";

export function subscribe(onChange) {
  if (!config.realtime || typeof WebSocket === "undefined") return () => {};
  const url = new URL(config.endpoint.replace(/\/$/, "") + "/realtime", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("project", config.project);
  url.searchParams.append("channels[]", `tablesdb.${config.databaseId}.tables.${config.tableId}.rows`);
  let socket = null;
  let ping = null;
  let closed = false;
  let delay = 1000;
  const open = () => {
    socket = new WebSocket(url.toString());
    socket.onopen = () => {
      delay = 1000;
      // Appwrite drops idle sockets; its SDK pings every 20 s.
      ping = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 20000);
    };
    socket.onmessage = (e) => {
      try {
        if (JSON.parse(e.data).type === "event") onChange();
      } catch (err) {
        // Not ours to handle: ignore unreadable frames.
      }
    };
    socket.onclose = () => {
      clearInterval(ping);
      if (!closed) setTimeout(open, (delay = Math.min(delay * 2, 60000)));
    };
  };
  open();
  return () => {
    closed = true;
    if (socket) socket.close();
  };
}
