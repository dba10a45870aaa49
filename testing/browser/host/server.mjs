// The host app's own web server for embed.test.mjs: serves the host page (every /app/* path),
// its scripts and the vendored React and Appwrite Web SDK builds, and passes everything else
// (Appwrite's /v1 API and Realtime socket, the dashboard's /assets) through to jobs-dev, as a
// deployment behind one domain would. A real server (not a routed response) so the browser
// treats the page as any local site.
import http from "node:http";
import net from "node:net";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const FILES = {
  "/vendor/react.js": "../node_modules/react/umd/react.production.min.js",
  "/vendor/react-dom.js": "../node_modules/react-dom/umd/react-dom.production.min.js",
  "/vendor/appwrite.js": "../node_modules/appwrite/dist/iife/sdk.js",
  "/app-host.js": "app-host.js",
};

/** Starts the host on a free loopback port in front of `target` (jobs-dev's URL). */
export async function startHost(target) {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, "http://host").pathname;
    if (FILES[path] || path === "/app" || path.startsWith("/app/")) {
      const file = join(here, FILES[path] || "index.html");
      res.writeHead(200, { "content-type": file.endsWith(".html") ? "text/html" : "text/javascript" });
      res.end(readFileSync(file));
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  // WebSocket upgrades: replay the request line and headers upstream, then splice the sockets.
  server.on("upgrade", (req, socket, head) => {
    const up = net.connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const close = () => {
      up.destroy();
      socket.destroy();
    };
    up.on("error", close);
    socket.on("error", close);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
