// Live updates: Realtime events applied from the row itself, polling every 5 s only while the
// socket is down, toasts on completion and failure, times and durations from the job's own
// timestamps, the theme toggle remembered, the counts per status moved once per change whichever
// of an action's answer and its Realtime echo comes first. Time-based checks use Playwright's
// fake clock and the order of messages is held by the test, so nothing here depends on how fast
// the machine is.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, withBrowser, worker, eventually, row, withConfig, recordCalls, action, trackFetches, advance, settle } from "./harness.mjs";
import { duration, relative } from "../../dashboard/assets/ui.js";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test("a hook call shows up through Realtime without the page asking the API", async (t) => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "BULK_VERIFY", "rt-live", { total: 100 });
    const calls = recordCalls(page);
    await page.goto(`${server.url}/jobs`);
    const r = row(page, job.jobId);
    await r.waitFor();
    await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
    await settle(page); // the catch-up request made on connecting, if any, is counted before
    const asked = calls.length;
    const started = Date.now();
    await job.progress({ done: 90, message: "90 of 100 leads verified" });
    await eventually(async () => (await r.locator(".pct").textContent()) === "90%", 10000, "90%");
    t.diagnostic(`hook call to screen: ${Date.now() - started} ms`);
    assert.match(await r.locator(".msg").textContent(), /90 of 100 leads verified/);
    assert.deepEqual(calls.slice(asked), [], "the row came from the event's payload");
  });
});

test("a failure shows a toast with the error, and the error in the row", async () => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "CAMPAIGN_RUN", "rt-fail", { total: 10 });
    await page.goto(`${server.url}/jobs`);
    await row(page, job.jobId).waitFor();
    await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
    await job.fail("SES sending quota exceeded");
    await page.locator(".toast.t-error", { hasText: "rt-fail failed: SES sending quota exceeded" }).waitFor({ timeout: 10000 });
    await row(page, job.jobId).locator(".row-error", { hasText: "SES sending quota exceeded" }).waitFor();
    assert.equal(await row(page, job.jobId).getAttribute("data-status"), "FAILED");
  });
});

test("without Realtime the list asks for changes once every 5 seconds, give or take one", async () => {
  await withBrowser(async ({ page }) => {
    await worker(server.url, "SQS_POLL", "poll-1");
    await withConfig(page, { realtime: false });
    await page.clock.install();
    await trackFetches(page);
    await page.goto(`${server.url}/jobs`);
    await page.locator("tbody tr").first().waitFor();
    await page.locator('[data-part="refreshed"][data-mode="polling"]').waitFor();
    for (let second = 0; second < 21; second++) await advance(page, 1000);
    const asked = await page.evaluate(() => window.__asked);
    assert.ok(asked.length >= 3 && asked.length <= 5, `asked ${asked.length} times in 21 s`);
    const gaps = asked.slice(1).map((t, i) => t - asked[i]);
    for (const gap of gaps) assert.ok(gap >= 4000 && gap <= 6000, `gaps between refreshes: ${gaps}`);
  });
});

test("timestamp columns and durations follow the job's own times", async () => {
  await withBrowser(async ({ page }) => {
    const running = await worker(server.url, "CAMPAIGN_RUN", "times-running", { total: 10 });
    const done = await worker(server.url, "BULK_VERIFY", "times-done", { total: 10 });
    await done.complete({ result: { valid: 10 } });
    const view = async (id) => (await action(server.url, "GET", `/v1/jobs/${id}`)).body.job;
    const [r, f] = [await view(running.jobId), await view(done.jobId)];
    const now = Date.parse(f.completedAt) + 3 * 60 * 1000;
    // Installed a minute early so pausing at `now` is always a step forward, never back.
    await page.clock.install({ time: now - 60000 });
    await page.clock.pauseAt(now);
    await page.goto(`${server.url}/jobs`);
    const fr = row(page, done.jobId);
    await fr.waitFor();
    const cell = (tr, label) => tr.locator(`td[data-label="${label}"]`);
    assert.equal(await cell(fr, "Started").locator("time").getAttribute("datetime"), f.startedAt);
    assert.equal(await cell(fr, "Completed").locator("time").getAttribute("datetime"), f.completedAt);
    assert.equal(await cell(fr, "Completed").textContent(), "3 minutes ago");
    assert.equal(await cell(fr, "Completed").textContent(), relative(f.completedAt, now));
    assert.equal(await cell(fr, "Duration").textContent(), duration(Date.parse(f.completedAt) - Date.parse(f.startedAt)));
    // A running job's duration grows second by second on the page's own clock.
    await page.clock.runFor(61000);
    const rr = row(page, running.jobId);
    await eventually(async () => (await cell(rr, "Duration").textContent()) === duration(now + 61000 - Date.parse(r.startedAt)), 5000, "ticking duration");
  });
});

test("the theme toggle is remembered across a reload", async () => {
  await withBrowser(async ({ page }) => {
    await page.goto(`${server.url}/jobs`);
    const theme = page.locator('[data-part="theme"]');
    await theme.waitFor();
    const before = await page.evaluate(() => document.body.dataset.theme || null);
    assert.equal(before, null, "the system theme at first");
    await theme.click();
    assert.equal(await page.evaluate(() => document.body.dataset.theme), "dark");
    await page.reload();
    await page.locator('[data-part="theme"]').waitFor();
    assert.equal(await page.evaluate(() => document.body.dataset.theme), "dark");
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(13, 17, 23)");
  });
});

test("the detail log shows the worker's progress messages, new ones as they are written", async () => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "BULK_VERIFY", "log-progress", { total: 100 });
    await job.progress({ done: 10, message: "10 of 100 leads verified" });
    const calls = recordCalls(page);
    await page.goto(`${server.url}/jobs/${job.jobId}`);
    await page.locator(".ev.k-progress .ev-msg", { hasText: "10 of 100 leads verified" }).waitFor();
    await page.locator('[data-part="main"][data-live="true"]').waitFor();
    await settle(page);
    const asked = calls.length;
    await job.progress({ done: 20, message: "20 of 100 leads verified" });
    await page.locator(".ev.k-progress .ev-msg", { hasText: "20 of 100 leads verified" }).waitFor({ timeout: 10000 });
    await eventually(async () => (await page.locator(".card .pct").first().textContent()) === "20%", 10000, "20%");
    assert.deepEqual(calls.slice(asked), [], "the entry and the row came from Realtime payloads");
  });
});

test("a job with the worker's execution id links to it in the Appwrite console; hostile ids stay text", async () => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "CAMPAIGN_RUN", "console-link", { total: 10 });
    await withConfig(page, { consoleExecutionUrl: "https://console.example/project-{project}/functions/function-{functionId}/execution-{executionId}" });
    // The worker's execution id (issue 15's `executionId`) added to the API's answer.
    let executionId = "6745f1e2c0ffee001122";
    await page.route("**/v1/functions/job-actions/executions", async (route) => {
      const res = await route.fetch();
      const execution = await res.json();
      if (String(execution.requestPath || "").startsWith(`/v1/jobs/${job.jobId}`)) {
        const body = JSON.parse(execution.responseBody);
        body.job.executionId = executionId;
        body.job.metadata = { ...body.job.metadata, functionId: "orchestrator" };
        execution.responseBody = JSON.stringify(body);
      }
      await route.fulfill({ response: res, json: execution });
    });
    await page.goto(`${server.url}/jobs/${job.jobId}`);
    const link = page.locator("a.console-link");
    await link.waitFor();
    assert.equal(await link.getAttribute("href"), `https://console.example/project-jobmanager/functions/function-orchestrator/execution-${executionId}`);
    assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
    executionId = `"><img src=x onerror="window.__xss=1">`;
    await page.reload();
    await page.locator("a.console-link").waitFor();
    assert.match(await page.locator("a.console-link").getAttribute("href"), /execution-%22%3E%3Cimg/);
    assert.equal(await page.locator("main img").count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  });
});

// The counts per status (issue 26 item 5) move once per status change, whichever of an action's
// answer and the Realtime echo of the same write reaches the page first: on jobs-dev the echo
// usually does, on Appwrite the answer. The tests decide the order themselves.

/**
 * Puts the test between the page and the server. Realtime events pass through, or wait from
 * `holdEvents()` until `releaseEvents()`; the answer to one action (`holdAnswer(path)`) is
 * fetched from the server (the write is made) and kept from the page until released.
 */
async function between(page) {
  const seen = []; // every Realtime event's data from the server, held or not
  const waiters = [];
  let holding = false;
  const held = [];
  let toPage = () => {};
  let answer = null;
  await page.routeWebSocket((url) => url.pathname.endsWith("/realtime"), (ws) => {
    const server = ws.connectToServer();
    toPage = (m) => ws.send(m);
    server.onMessage((m) => {
      let message = null;
      try {
        message = JSON.parse(String(m));
      } catch (e) {
        // Not JSON: not an event, forwarded as it is.
      }
      const event = message && message.type === "event";
      if (event && holding) held.push(m);
      else ws.send(m);
      if (event) {
        seen.push(message.data);
        for (const w of waiters.splice(0)) if (!w()) waiters.push(w);
      }
    });
  });
  await page.route("**/v1/functions/job-actions/executions", async (route) => {
    const body = JSON.parse(route.request().postData() || "{}");
    if (!answer || body.method !== "POST" || body.path !== answer.path) return route.fallback();
    const res = await route.fetch();
    answer.made();
    await answer.released;
    await route.fulfill({ response: res });
  });
  return {
    /** Resolves once the server has sent an event (held or not) whose row passes `test`. */
    echo: (test) =>
      new Promise((resolve) => {
        const check = () => seen.some((data) => test(data.payload)) && (resolve(), true);
        if (!check()) waiters.push(check);
      }),
    holdEvents: () => (holding = true),
    releaseEvents() {
      holding = false;
      for (const m of held.splice(0)) toPage(m);
    },
    /** Holds the answer to `POST path`: `made` resolves once the server answered (and wrote). */
    holdAnswer(path) {
      let made;
      let release;
      const fetched = new Promise((r) => (made = r));
      answer = { path, made: () => made(), released: new Promise((r) => (release = r)) };
      return { made: fetched, release: () => release() };
    },
  };
}

/** The counts the tiles show, per status. */
function tiles(page) {
  return page.locator('[data-part="summary"] .count').evaluateAll((links) =>
    Object.fromEntries(links.map((a) => [a.dataset.status, Number(a.querySelector(".n").textContent)])));
}

/** The counts a fresh summary load reports, per status. */
async function summaryNow() {
  const { body } = await action(server.url, "GET", "/v1/jobs/summary");
  const out = { QUEUED: 0, RUNNING: 0, PAUSED: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 };
  for (const c of body.counts) out[c.status] += c.count;
  return out;
}

/** Opens `path` and waits until it is live, counted and idle; resolves to the tiles. */
async function openCounted(page, path) {
  await trackFetches(page);
  await page.goto(`${server.url}${path}`);
  await page.locator('[data-part="refreshed"][data-mode="live"]').waitFor();
  await page.locator('[data-part="summary"] .count').first().waitFor();
  // The catch-up request made on connecting has started by now: wait for its answer.
  await eventually(() => page.evaluate(() => window.__inflight === 0), 10000, "the page to be idle");
  const shown = await tiles(page);
  assert.deepEqual(shown, await summaryNow(), "the counts as loaded");
  return shown;
}

/** Pauses the job of row `r` through its button and the confirmation dialog. */
async function pauseFrom(page, r) {
  await r.getByRole("button", { name: /^Pause/ }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Pause job" }).click();
}

/**
 * Makes a write to `marker` and waits until the page shows it: events reach the page in order,
 * so every event sent before it has been applied.
 */
async function afterEverySent(page, marker, text) {
  await marker.progress({ done: 1, message: text });
  await row(page, marker.jobId).locator(".msg", { hasText: text }).waitFor({ timeout: 10000 });
}

const pausedRow = (jobId) => (row) => row.$id === jobId && row.status === "PAUSED";
const moved = (counts, from, to) => ({ ...counts, [from]: counts[from] - 1, [to]: counts[to] + 1 });

test("a pause whose Realtime echo comes before its answer moves one job from RUNNING to PAUSED once", async () => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "BULK_VERIFY", "count-echo-first", { total: 100 });
    const net = await between(page);
    const start = await openCounted(page, "/jobs");
    const r = row(page, job.jobId);
    const answer = net.holdAnswer(`/v1/jobs/${job.jobId}/pause`);
    await pauseFrom(page, r);
    await answer.made;
    await net.echo(pausedRow(job.jobId));
    // Only the echo can move the row: the answer is still held.
    await eventually(async () => (await r.getAttribute("data-status")) === "PAUSED", 10000, "the echo applied");
    assert.deepEqual(await tiles(page), moved(start, "RUNNING", "PAUSED"), "counted on the echo");
    answer.release();
    await page.locator(".toast", { hasText: "Pause requested for Bulk verify count-echo-first" }).waitFor();
    assert.deepEqual(await tiles(page), moved(start, "RUNNING", "PAUSED"), "the answer after it moved nothing");
    assert.deepEqual(await tiles(page), await summaryNow(), "as a fresh summary reports");
  });
});

test("a pause whose answer comes before its Realtime echo moves one job from RUNNING to PAUSED once", async () => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "BULK_VERIFY", "count-answer-first", { total: 100 });
    const marker = await worker(server.url, "SQS_POLL", "count-answer-first-marker", { total: 10 });
    const net = await between(page);
    const start = await openCounted(page, "/jobs");
    const r = row(page, job.jobId);
    net.holdEvents();
    await pauseFrom(page, r);
    await page.locator(".toast", { hasText: "Pause requested for Bulk verify count-answer-first" }).waitFor();
    assert.equal(await r.getAttribute("data-status"), "PAUSED", "the answer applied");
    assert.deepEqual(await tiles(page), moved(start, "RUNNING", "PAUSED"), "counted on the answer");
    await net.echo(pausedRow(job.jobId)); // sent, and held until now
    net.releaseEvents();
    await afterEverySent(page, marker, "after the echo");
    assert.deepEqual(await tiles(page), moved(start, "RUNNING", "PAUSED"), "the echo after it moved nothing");
    assert.deepEqual(await tiles(page), await summaryNow(), "as a fresh summary reports");
  });
});

test("a paused job that leaves the filtered view is counted once", async () => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "METRICS_FETCH", "count-leaves", { total: 10 });
    const marker = await worker(server.url, "METRICS_FETCH", "count-leaves-marker", { total: 10 });
    const net = await between(page);
    const start = await openCounted(page, "/jobs?type=METRICS_FETCH&status=RUNNING");
    const r = row(page, job.jobId);
    net.holdEvents();
    await pauseFrom(page, r);
    await page.locator(".toast", { hasText: "Pause requested for Metrics fetch count-leaves" }).waitFor();
    assert.equal(await r.count(), 0, "a paused job is not in a view of running ones");
    assert.deepEqual(await tiles(page), moved(start, "RUNNING", "PAUSED"));
    await net.echo(pausedRow(job.jobId));
    net.releaseEvents();
    await afterEverySent(page, marker, "after the echo");
    assert.equal(await r.count(), 0);
    assert.deepEqual(await tiles(page), moved(start, "RUNNING", "PAUSED"));
    assert.deepEqual(await tiles(page), await summaryNow());
  });
});

test("a job the view never loaded is counted once when someone else pauses it", async () => {
  await withBrowser(async ({ page }) => {
    const job = await worker(server.url, "CAMPAIGN_RUN", "count-elsewhere", { total: 10 });
    const marker = await worker(server.url, "SQS_POLL", "count-elsewhere-marker", { total: 10 });
    const net = await between(page);
    // The catch-up on connecting brings every job written in the last minutes, whatever the
    // filter; without this job, as if its last write were older than the catch-up reaches back.
    await page.route("**/v1/functions/job-actions/executions", async (route) => {
      const body = JSON.parse(route.request().postData() || "{}");
      if (!String(body.path).includes("updatedSince=")) return route.fallback();
      const res = await route.fetch();
      const execution = await res.json();
      const list = JSON.parse(execution.responseBody);
      list.jobs = list.jobs.filter((j) => j.$id !== job.jobId);
      await route.fulfill({ response: res, json: { ...execution, responseBody: JSON.stringify(list) } });
    });
    const start = await openCounted(page, "/jobs?type=SQS_POLL");
    assert.equal(await row(page, job.jobId).count(), 0, "another type's job is not loaded");
    await action(server.url, "POST", `/v1/jobs/${job.jobId}/pause`, {});
    await net.echo(pausedRow(job.jobId));
    await afterEverySent(page, marker, "after the pause");
    assert.deepEqual(await tiles(page), moved(start, "RUNNING", "PAUSED"), "moved from the status the row's log says it left");
    assert.deepEqual(await tiles(page), await summaryNow());
  });
});
