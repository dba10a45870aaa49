// Live updates: Realtime events applied from the row itself, polling every 5 s only while the
// socket is down, toasts on completion and failure, times and durations from the job's own
// timestamps, the theme toggle remembered. Time-based checks use Playwright's fake clock, so
// nothing here depends on how fast the machine is.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, worker, eventually, row, withConfig, recordCalls, action, trackFetches, advance, settle } from "./harness.mjs";
import { duration, relative } from "../../dashboard/assets/ui.js";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** A fresh browser per test: routes and clocks installed by one test never leak into another. */
async function fresh(fn) {
  const browser = await openBrowser();
  try {
    await fn(browser);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
}

test("a hook call shows up through Realtime without the page asking the API", async (t) => {
  await fresh(async ({ page }) => {
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
  await fresh(async ({ page }) => {
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
  await fresh(async ({ page }) => {
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
  await fresh(async ({ page }) => {
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
  await fresh(async ({ page }) => {
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
  await fresh(async ({ page }) => {
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
  await fresh(async ({ page }) => {
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
