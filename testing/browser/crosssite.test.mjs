// The dashboard on another site than its Appwrite endpoint, in a browser that blocks
// third-party cookies (Safari's default, other browsers' private windows): the page is served
// from http://127.0.0.1:<port> by its own server below, the endpoint is jobs-dev at
// http://localhost:<port>/v1 (127.0.0.1 and localhost are different sites). The first test shows
// the setting blocks what it must and that the cookie-only transport the dashboard used to have
// is a guest again right after signing in; the others sign in (on the dashboard's own page, and
// through a host's Web SDK client), list, and receive a live update over the socket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, openBrowser, worker, row, eventually } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dashboard = join(here, "..", "..", "dashboard");
const USERS = JSON.stringify([{ id: "ops", email: "ops@pivotr.test", teams: ["jobs-operators"], password: "ops-password" }]);

let server;
let endpoint;
let page;
let cookieSite;

/** Serves `handler` on a free loopback port; resolves to `{port, stop}`. */
async function serve(handler) {
  const s = http.createServer(handler);
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    port: s.address().port,
    stop: () =>
      new Promise((resolve) => {
        s.closeAllConnections();
        s.close(resolve);
      }),
  };
}

/** The page's site: the dashboard's own files, configured for the endpoint on the other site,
 * and a host page with the official Web SDK that mounts the dashboard with its client. */
function pageSite(req, res) {
  const path = new URL(req.url, "http://page").pathname;
  const send = (type, body) => {
    res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
    res.end(body);
  };
  const asset = path.match(/^\/assets\/([a-z-]+\.(js|css))$/);
  if (asset) return send(asset[2] === "js" ? "text/javascript" : "text/css", readFileSync(join(dashboard, "assets", asset[1])));
  if (path === "/config.js") return send("text/javascript", `window.JOBS_CONFIG = ${JSON.stringify({ endpoint, project: "jobmanager" })};`);
  if (path === "/jobs" || path.startsWith("/jobs/")) return send("text/html", readFileSync(join(dashboard, "index.html")));
  if (path === "/vendor/appwrite.js") return send("text/javascript", readFileSync(join(here, "node_modules", "appwrite", "dist", "iife", "sdk.js")));
  if (path === "/host" || path.startsWith("/host/")) {
    return send(
      "text/html",
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/style.css"><script src="/vendor/appwrite.js"></script></head>
<body><div id="jobs"></div><script type="module">
window.client = new Appwrite.Client().setEndpoint(${JSON.stringify(endpoint)}).setProject("jobmanager");
window.signIn = (email, password) => new Appwrite.Account(window.client).createEmailPasswordSession({ email, password });
window.mountJobs = async () => {
  const { mount } = await import("/assets/mount.js");
  mount(document.getElementById("jobs"), { client: window.client, basePath: "/host", signIn: false });
};
</script></body></html>`,
    );
  }
  return send("text/html", "<!doctype html><title>blank</title>");
}

/** A site that sets a session cookie shaped like Appwrite's over https (`SameSite=None; Secure`,
 * which Chromium accepts from localhost) and echoes the cookies it gets, with credentials CORS. */
function cookieProbe(req, res) {
  const headers = { "access-control-allow-origin": req.headers.origin || "", "access-control-allow-credentials": "true", "content-type": "text/plain" };
  if (req.url === "/set") headers["set-cookie"] = "a_session_probe=1; Path=/; HttpOnly; SameSite=None; Secure";
  res.writeHead(200, headers);
  res.end(req.headers.cookie || "");
}

before(async () => {
  server = await startServer({ env: { JOBS_DEV_USERS: USERS } });
  endpoint = `${server.url.replace("127.0.0.1", "localhost")}/v1`;
  page = await serve(pageSite);
  cookieSite = await serve(cookieProbe);
});
after(async () => {
  await cookieSite?.stop();
  await page?.stop();
  await server?.stop();
});

const pageUrl = (path) => `http://127.0.0.1:${page.port}${path}`;

async function signIn(p, email, password) {
  await p.getByLabel("Email").fill(email);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Sign in" }).click();
}

/** Records the JSON messages the page sends on its WebSockets. */
function socketMessages(p) {
  const sent = [];
  p.on("websocket", (ws) =>
    ws.on("framesent", (frame) => {
      try {
        sent.push(JSON.parse(frame.payload));
      } catch (e) {
        // Not JSON: not ours.
      }
    }),
  );
  return sent;
}

/** Waits until a job's row shows the progress the worker reports next. */
async function liveUpdate(p, job) {
  await p.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
  await job.progress({ done: 150, message: "150/200 emails sent" });
  const r = row(p, job.jobId);
  await eventually(async () => (await r.locator(".pct").textContent()) === "75%", 10000, "the live 75%");
}

test("the setting blocks third-party cookies, and a cookie-only client is a guest again after signing in", async () => {
  // Without the setting the probe's cookie comes back across sites: the probe can tell.
  const seen = {};
  for (const mode of ["allow", "block"]) {
    const browser = await openBrowser({ thirdPartyCookies: mode });
    try {
      await browser.page.goto(pageUrl("/blank"));
      seen[mode] = await browser.page.evaluate(async (site) => {
        await fetch(`${site}/set`, { credentials: "include" });
        return (await fetch(`${site}/get`, { credentials: "include" })).text();
      }, `http://localhost:${cookieSite.port}`);
      if (mode === "block") {
        // What api.js did before: the cookie and the project header, nothing else.
        const statuses = await browser.page.evaluate(async (endpoint) => {
          const headers = { "content-type": "application/json", "x-appwrite-project": "jobmanager" };
          const signIn = await fetch(`${endpoint}/account/sessions/email`, {
            method: "POST",
            credentials: "include",
            headers,
            body: JSON.stringify({ email: "ops@pivotr.test", password: "ops-password" }),
          });
          const account = await fetch(`${endpoint}/account`, { credentials: "include", headers });
          return [signIn.status, account.status];
        }, endpoint);
        assert.deepEqual(statuses, [201, 401], "sign-in 'succeeds' and the next call is unauthenticated");
      }
    } finally {
      await browser.close();
    }
  }
  assert.deepEqual(seen, { allow: "a_session_probe=1", block: "" });
});

test("on another site with third-party cookies blocked, the dashboard signs in, lists, updates live and signs out", async () => {
  const job = await worker(server.url, "CAMPAIGN_RUN", "campaign-cross-site", { total: 200 });
  await job.progress({ done: 50, message: "50/200 emails sent" });
  const browser = await openBrowser({ thirdPartyCookies: "block" });
  try {
    const { page: p, context, errors } = browser;
    const sent = socketMessages(p);
    await p.goto(pageUrl("/jobs"));
    await p.getByRole("heading", { name: "Sign in to Jobs" }).waitFor();
    await signIn(p, "ops@pivotr.test", "ops-password");
    await row(p, job.jobId).waitFor();
    assert.match(await p.locator('[data-part="who"]').textContent(), /ops@pivotr\.test.*Operator/);
    await liveUpdate(p, job);

    // The session rode in the fallback header and the socket's authentication message alone.
    assert.deepEqual(await context.cookies(endpoint), [], "the browser kept no cookie of the endpoint");
    const kept = JSON.parse(await p.evaluate(() => localStorage.getItem("cookieFallback")));
    assert.equal(typeof kept.a_session_jobmanager, "string");
    assert.ok(
      sent.some((m) => m.type === "authentication" && m.data.session === kept.a_session_jobmanager),
      JSON.stringify(sent),
    );

    await p.getByRole("button", { name: "Sign out" }).click();
    await p.getByRole("heading", { name: "Sign in to Jobs" }).waitFor();
    assert.equal(await p.evaluate(() => localStorage.getItem("cookieFallback")), "[]", "as the SDK keeps it");
    await p.reload();
    await p.getByRole("heading", { name: "Sign in to Jobs" }).waitFor();
    assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  } finally {
    await browser.close();
  }
});

test("mounted with a host's Web SDK client, the dashboard uses the client's session, kept by the SDK or set with setSession", async () => {
  // The host signs in with the SDK, which keeps the session in localStorage.
  const kept = await openBrowser({ thirdPartyCookies: "block" });
  try {
    const { page: p, errors } = kept;
    const job = await worker(server.url, "CAMPAIGN_RUN", "campaign-host-kept", { total: 200 });
    await job.progress({ done: 50 });
    await p.goto(pageUrl("/host"));
    await p.waitForFunction(() => typeof window.signIn === "function");
    await p.evaluate(() => window.signIn("ops@pivotr.test", "ops-password"));
    await p.evaluate(() => window.mountJobs());
    await row(p, job.jobId).waitFor();
    await liveUpdate(p, job);
    assert.deepEqual(errors, []);
  } finally {
    await kept.close();
  }

  // A host that got the session elsewhere (e.g. from its server) and set it on its client.
  const res = await fetch(`${endpoint}/account/sessions/email`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-appwrite-project": "jobmanager", origin: pageUrl("") },
    body: JSON.stringify({ email: "ops@pivotr.test", password: "ops-password" }),
  });
  const secret = JSON.parse(res.headers.get("x-fallback-cookies")).a_session_jobmanager;
  const set = await openBrowser({ thirdPartyCookies: "block" });
  try {
    const { page: p, errors } = set;
    const sent = socketMessages(p);
    const job = await worker(server.url, "CAMPAIGN_RUN", "campaign-host-set", { total: 200 });
    await job.progress({ done: 50 });
    await p.goto(pageUrl("/host"));
    await p.waitForFunction(() => typeof window.mountJobs === "function");
    await p.evaluate((secret) => window.client.setSession(secret), secret);
    await p.evaluate(() => window.mountJobs());
    await row(p, job.jobId).waitFor();
    await liveUpdate(p, job);
    assert.equal(await p.evaluate(() => localStorage.getItem("cookieFallback")), null, "no fallback: the client's own session");
    assert.ok(sent.some((m) => m.type === "authentication" && m.data.session === secret));
    assert.deepEqual(errors, []);
  } finally {
    await set.close();
  }
});
