// The /jobs list: live progress without reload, toasts, the four actions, filters, pagination.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, worker, eventually, row } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test("progress updates live without a reload and a completion shows a toast", async () => {
  const { page, errors } = browser;
  const job = await worker(server.url, "CAMPAIGN_RUN", "camp-live", { total: 200 });
  await job.progress({ done: 40, message: "40/200 emails sent" });
  await page.goto(`${server.url}/jobs`);
  const r = row(page, job.jobId);
  await r.waitFor();
  assert.equal(await r.locator(".pct").textContent(), "20%");
  assert.match(await r.locator(".msg").textContent(), /40\/200 emails sent/);
  await r.locator(".badge .pulse").waitFor(); // running jobs pulse
  await page.evaluate(() => (window.__sameDocument = true));

  await job.progress({ done: 140, message: "140/200 emails sent" });
  await eventually(async () => (await r.locator(".pct").textContent()) === "70%", 12000, "70%");
  assert.equal(await r.locator('[role="progressbar"]').getAttribute("aria-valuenow"), "70");
  // The row is patched in place; the bar's fill moves too (under the page's strict CSP).
  assert.equal(await r.locator(".fill").evaluate((n) => n.style.width), "70%");

  await job.complete({ result: { sent: 198, failed: 2 } });
  const toast = page.locator(".toast", { hasText: "camp-live completed" });
  await toast.waitFor({ timeout: 12000 });
  assert.equal(await r.getAttribute("data-status"), "COMPLETED");
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page was not reloaded");
  assert.deepEqual(errors, []);
});

test("a job whose completion is unknown shows an indeterminate bar", async () => {
  const { page } = browser;
  const poller = await worker(server.url, "SQS_POLL", "ses-queue-1");
  await poller.heartbeat({ message: "12 events processed" });
  await page.goto(`${server.url}/jobs`);
  const bar = row(page, poller.jobId).locator('[role="progressbar"]');
  await bar.waitFor();
  assert.match(await bar.getAttribute("class"), /indeterminate/);
  assert.equal(await bar.getAttribute("aria-valuenow"), null);
});

test("pause, resume, cancel and retry change the status and show a toast", async () => {
  const { page } = browser;
  const job = await worker(server.url, "BULK_VERIFY", "leads-actions", { total: 5000 });
  await job.progress({ done: 1000 });
  await page.goto(`${server.url}/jobs`);
  const r = row(page, job.jobId);
  await r.waitFor();

  await r.getByRole("button", { name: /^Pause/ }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel(/Reason/).fill("maintenance window");
  await dialog.getByRole("button", { name: "Pause job" }).click();
  await page.locator(".toast", { hasText: "Pause requested for Bulk verify leads-actions" }).waitFor();
  await eventually(async () => (await r.getAttribute("data-status")) === "PAUSED", 8000, "PAUSED");

  await r.getByRole("button", { name: /^Resume/ }).click();
  await page.locator(".toast", { hasText: "Resumed Bulk verify leads-actions" }).waitFor();
  await eventually(async () => (await r.getAttribute("data-status")) === "QUEUED", 8000, "QUEUED");

  await r.getByRole("button", { name: /^Cancel/ }).click();
  await dialog.getByLabel(/Reason/).fill("wrong list uploaded");
  await dialog.getByRole("button", { name: "Cancel job" }).click();
  await page.locator(".toast", { hasText: "Cancelled Bulk verify leads-actions" }).waitFor();
  await eventually(async () => (await r.getAttribute("data-status")) === "CANCELLED", 8000, "CANCELLED");
  assert.equal(await r.getByRole("button", { name: /^Cancel/ }).count(), 0, "no cancel on a cancelled job");

  const before = await page.locator("tbody tr").count();
  await r.getByRole("button", { name: /^Retry/ }).click();
  await page.locator(".toast", { hasText: "Retry queued for Bulk verify leads-actions" }).waitFor();
  await eventually(async () => (await page.locator("tbody tr").count()) === before + 1, 8000, "the retry row");
  const retried = page.locator('tr[data-status="QUEUED"]', { hasText: "leads-actions" });
  assert.equal(await retried.count(), 1);
});

test("backing out of the cancel dialog leaves the job alone", async () => {
  const { page } = browser;
  const job = await worker(server.url, "CAMPAIGN_RUN", "camp-keep", { total: 10 });
  await page.goto(`${server.url}/jobs`);
  const r = row(page, job.jobId);
  // Every action the page asks for, as it leaves: a confirmed cancel would start one at once.
  const asked = [];
  const record = (req) => {
    if (req.method() === "POST") asked.push(`${req.url()} ${req.postData() || ""}`);
  };
  page.on("request", record);
  const cancel = r.getByRole("button", { name: /^Cancel/ });
  await cancel.click();
  await page.keyboard.press("Escape");
  // The dialog is gone and focus is back on the button that opened it: the choice is made.
  await eventually(async () => (await page.locator("dialog[open]").count()) === 0, 8000, "the dialog closed");
  await eventually(async () => cancel.evaluate((b) => b === document.activeElement), 8000, "focus back on Cancel");
  page.off("request", record);
  assert.deepEqual(asked.filter((a) => a.includes("cancel")), []);
  assert.equal(await r.getAttribute("data-status"), "RUNNING");
});

test("every active job comes first, then recent ones; filters live in the URL and older jobs load on demand", async () => {
  const { page } = browser;
  // page-00..02 stay active; the other 27 finish: more than a page (25) of finished jobs. The
  // view is filtered to these jobs, since earlier tests' jobs (a resumed worker, say) may still
  // change status while this test reads the rows.
  for (let i = 0; i < 30; i++) {
    const w = await worker(server.url, i % 2 ? "METRICS_FETCH" : "BULK_VERIFY", `page-${String(i).padStart(2, "0")}`);
    if (i >= 3) await w.complete({});
  }
  await page.goto(`${server.url}/jobs?q=page-`);
  await page.locator("tbody tr").first().waitFor();
  const statuses = await page.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.status));
  const active = (s) => ["QUEUED", "RUNNING", "PAUSED"].includes(s);
  const firstFinished = statuses.findIndex((s) => !active(s));
  assert.ok(firstFinished > 0 && statuses.slice(firstFinished).every((s) => !active(s)), `active first: ${statuses}`);
  for (const ref of ["page-00", "page-01", "page-02"]) await page.locator("tbody tr", { hasText: ref }).waitFor();
  assert.equal(statuses.length - firstFinished, 25, "one page of finished jobs");
  await page.getByRole("button", { name: "Load older jobs" }).click();
  await eventually(async () => (await page.locator("tbody tr").count()) > statuses.length, 5000, "second page");

  await page.getByLabel("Type").selectOption("METRICS_FETCH");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/type=METRICS_FETCH/);
  await page.locator("tbody tr").first().waitFor();
  const types = await page.locator("tbody tr .job .muted").allTextContents();
  assert.equal(types.length, 15);
  assert.ok(types.every((t) => t === "Metrics fetch"), types.join());

  // A shared URL reproduces the view; a date range in the past empties it.
  await page.goto(`${server.url}/jobs?type=METRICS_FETCH&q=page-0`);
  await page.locator("tbody tr").first().waitFor();
  assert.equal(await page.locator("tbody tr").count(), 5);
  assert.equal(await page.getByLabel("Reference or job id").inputValue(), "page-0");
  await page.goto(`${server.url}/jobs?from=2001-01-01&to=2001-01-02`);
  await page.getByText("No jobs match these filters.").waitFor();
});
