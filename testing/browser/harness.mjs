// Test harness: starts the real `jobs-dev` binary on a free port with a temporary data folder
// (demo workers off), seeds jobs through Appwrite's executions endpoint exactly as workers do,
// and opens Debian's Chromium through playwright-core (which never downloads a browser).

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const KEY = "browser-test-server-key-0123456789";
// Test runs write their screenshots under target/ to look at; `UPDATE_SCREENSHOTS=1` refreshes
// the committed ones in docs/screenshots (shown in the README).
export const screenshots = process.env.UPDATE_SCREENSHOTS === "1"
  ? join(root, "docs", "screenshots")
  : join(process.env.CARGO_TARGET_DIR || join(root, "target"), "screenshots");

function binary() {
  if (process.env.JOBS_DEV_BIN) return process.env.JOBS_DEV_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(root, "target");
  const bin = join(target, "debug", "jobs-dev");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run testing/browser/run (it builds it)`);
  return bin;
}

/** Starts jobs-dev; resolves to `{url, stop}` once it prints its address. */
export async function startServer({ role = "operator", env = {} } = {}) {
  const data = mkdtempSync(join(tmpdir(), "jobs-dev-"));
  const child = spawn(binary(), [], {
    env: { ...process.env, JOBS_DEV_PORT: "0", JOBS_DEV_DATA_DIR: data, JOBS_DEV_KEY: KEY, JOBS_DEV_ROLE: role, JOBS_DEV_DEMO: "0", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`jobs-dev did not start:\n${out}`)), 60000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/ready at (http:\/\/[^\s]+)\/jobs/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`jobs-dev exited with ${code}:\n${out}`)));
  });
  child.stdout.resume();
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Runs a function through the executions endpoint with the server key; resolves to its JSON answer. */
export async function execute(url, functionId, body, { path = "/", method = "POST" } = {}) {
  const res = await fetch(`${url}/v1/functions/${functionId}/executions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-appwrite-key": KEY, "x-appwrite-project": "jobmanager" },
    body: JSON.stringify({ body: body ? JSON.stringify(body) : "", async: false, path, method, headers: { "content-type": "application/json" } }),
  });
  const execution = await res.json();
  if (res.status !== 201) throw new Error(`execution refused: ${JSON.stringify(execution)}`);
  const answer = JSON.parse(execution.responseBody || "null");
  if (execution.responseStatusCode >= 300) throw new Error(`${functionId} answered ${execution.responseStatusCode}: ${execution.responseBody}`);
  return answer;
}

const HOOKS = { CAMPAIGN_RUN: "hook-campaign-run", BULK_VERIFY: "hook-bulk-verify", SQS_POLL: "hook-sqs-poll", METRICS_FETCH: "hook-metrics-fetch" };

/** A worker's view of one job: start it, then report like a real worker would, sending back the
 * run every answer carries (docs/hooks.md, Runs). `pickUp` is the re-triggered worker's start
 * after a resume. */
export async function worker(url, type, referenceId, start = {}) {
  const hook = HOOKS[type];
  const started = await execute(url, hook, { event: "start", referenceId, ...start });
  const jobId = started.job.$id;
  let run = started.run;
  const send = async (event, body = {}) => {
    const answer = await execute(url, hook, { event, jobId, run, ...body });
    if (answer && answer.run !== undefined && !answer.code) run = answer.run;
    return answer;
  };
  return {
    jobId,
    // The re-trigger body's start: the run the resume began, so the paused run is superseded.
    pickUp: (resumedRun) => {
      run = resumedRun;
      return send("start", { referenceId });
    },
    progress: (body) => send("progress", body),
    heartbeat: (body) => send("heartbeat", body),
    complete: (body) => send("complete", body),
    fail: (error) => send("fail", { error }),
  };
}

/** Calls the action API as the development identity (as the dashboard does). */
export async function action(url, method, path, body) {
  const res = await fetch(`${url}/v1/functions/job-actions/executions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ body: body ? JSON.stringify(body) : "", path, method }),
  });
  const execution = await res.json();
  return { status: execution.responseStatusCode, body: JSON.parse(execution.responseBody || "null") };
}

/**
 * Runs `fn(browser)` in a fresh browser (`openBrowser(options)`), closed whatever happens;
 * no page error allowed. Routes and clocks one test installs never leak into another.
 */
export async function withBrowser(fn, options) {
  const browser = await openBrowser(options);
  try {
    await fn(browser);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
}

/**
 * Opens Chromium on a fresh profile. `thirdPartyCookies: "block"` turns on the profile's
 * "Block third-party cookies" setting (what Safari does by default and others in private
 * windows), `"allow"` turns it off; unset keeps Chromium's default.
 */
export async function openBrowser({ colorScheme = "light", viewport = { width: 1400, height: 900 }, thirdPartyCookies } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  if (thirdPartyCookies) {
    // The settings page's switch: `cookie_controls_mode` 1 blocks third-party cookies, 0 allows them.
    const block = thirdPartyCookies === "block";
    mkdirSync(join(profile, "Default"));
    const prefs = { profile: { cookie_controls_mode: block ? 1 : 0, block_third_party_cookies: block } };
    writeFileSync(join(profile, "Default", "Preferences"), JSON.stringify(prefs));
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    colorScheme,
    viewport,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync",
    ],
  });
  const errors = [];
  context.on("page", (p) => p.on("pageerror", (e) => errors.push(e.message)));
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => errors.push(e.message));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core (WCAG 2 A and AA rules) on the page, or on the part `include` selects, and
 * resolves to its violations as short strings (rule, impact, the offending elements). The
 * source is evaluated through the DevTools protocol, so the page's Content-Security-Policy
 * stays as strict as it is.
 */
export async function axe(page, { include } = {}) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async (include) => {
    const result = await window.axe.run(include ? { include: [include] } : document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }, include || null);
  return violations;
}

/** The table row of a job. */
export function row(page, jobId) {
  return page.locator(`tr[data-id="${jobId}"]`);
}

/** Retries `check` (which throws or returns false) until it passes or `ms` elapse. */
export async function eventually(check, ms = 12000, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const ok = await check();
      if (ok !== false) return ok;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Serves the dashboard's config.js with `overrides` (e.g. `{realtime: false}`) for this page. */
export async function withConfig(page, overrides) {
  await page.route("**/config.js", async (route) => {
    const res = await route.fetch();
    const body = `${await res.text()}\nObject.assign(window.JOBS_CONFIG, ${JSON.stringify(overrides)});`;
    await route.fulfill({ response: res, body });
  });
}

/** Records the action-API routes the page asks for (`GET /v1/jobs?…`), with the time asked. */
export function recordCalls(page) {
  const calls = [];
  page.on("request", (req) => {
    if (!/\/functions\/[^/]+\/executions$/.test(new URL(req.url()).pathname) || req.method() !== "POST") return;
    try {
      const body = JSON.parse(req.postData() || "{}");
      calls.push({ at: Date.now(), method: body.method, path: body.path });
    } catch (e) {
      // Not an execution request of ours.
    }
  });
  return calls;
}

/** The dev server's counters (executions and store calls per function, Realtime). */
export async function stats(url) {
  const res = await fetch(`${url}/v1/dev/stats`, { headers: { "x-appwrite-key": KEY } });
  return res.json();
}

/**
 * Counts the page's fetches in flight (`window.__inflight`) and stamps each change request
 * (`updatedSince=`) with the page's own clock (`window.__asked`), so a test driving a fake clock
 * can wait for the page to be idle before moving time on. Call before `goto`.
 */
export async function trackFetches(page) {
  await page.addInitScript(() => {
    window.__asked = [];
    window.__inflight = 0;
    const real = window.fetch;
    window.fetch = function (url, init) {
      try {
        const body = JSON.parse((init && init.body) || "{}");
        if (body.path && body.path.includes("updatedSince=")) window.__asked.push(Date.now());
      } catch (e) {
        // Not a JSON body: not an execution.
      }
      window.__inflight += 1;
      return real.apply(this, arguments).finally(() => (window.__inflight -= 1));
    };
  });
}

/** Moves the page's fake clock on by `ms`, then waits until no fetch is in flight. */
export async function advance(page, ms) {
  await page.clock.runFor(ms);
  await eventually(() => page.evaluate(() => window.__inflight === 0), 30000, "the page to be idle");
}

/**
 * Resolves once every request the page started so far has been reported: the page asks for
 * `/v1/health` and the browser reports requests in the order they start.
 */
export async function settle(page) {
  const seen = page.waitForRequest((r) => r.url().endsWith("/v1/health"));
  await page.evaluate(() => fetch("/v1/health").then((r) => r.text()));
  await seen;
}
