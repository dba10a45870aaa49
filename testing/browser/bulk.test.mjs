// Bulk actions (issue 28 item 8): checkboxes on an operator's rows (labelled, keyboard-usable),
// "Select all matching this filter" resolved by paging the list with the view's filters, only
// the actions valid for the selection offered with their counts, one confirmation stating the
// count, one `POST /v1/jobs/batch` per 100 jobs, failures reported per job; a viewer sees none
// of it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, withBrowser, worker, action, row, axe, eventually, recordCalls, screenshots } from "./harness.mjs";

let server;
const failed = [];
before(async () => {
  server = await startServer();
  for (let i = 0; i < 10; i++) {
    const w = await worker(server.url, "BULK_VERIFY", `bulk-fail-${String(i).padStart(2, "0")}`, { total: 10 });
    await w.fail("list unreadable");
    failed.push(w.jobId);
  }
});
after(async () => {
  await server?.stop();
});

const bar = (page) => page.getByRole("region", { name: "Bulk actions" });

test("rows are selected from the keyboard and only the valid actions are offered, with their counts", async () => {
  await withBrowser(async ({ page }) => {
    const running = await worker(server.url, "CAMPAIGN_RUN", "bulk-mixed-run", { total: 10 });
    await page.goto(`${server.url}/jobs?q=bulk-`);
    const box = page.getByRole("checkbox", { name: "Select Bulk verify bulk-fail-03" });
    await box.waitFor();
    await box.focus();
    await page.keyboard.press("Space");
    await bar(page).getByText("1 job selected").waitFor();
    assert.deepEqual(await bar(page).locator("[data-bulk-action]").allTextContents(), ["Retry 1"]);
    await page.getByRole("checkbox", { name: "Select Campaign run bulk-mixed-run" }).check();
    await bar(page).getByText("2 jobs selected").waitFor();
    assert.deepEqual(await bar(page).locator("[data-bulk-action]").allTextContents(), ["Retry 1", "Cancel 1", "Pause 1"]);
    assert.deepEqual(await axe(page, { include: "main" }), [], "axe: a selection, light");
    await page.getByRole("button", { name: "Switch to dark theme" }).click();
    assert.deepEqual(await axe(page, { include: "main" }), [], "axe: a selection, dark");
    // Backing out of the dialog sends nothing and gives focus back.
    const calls = recordCalls(page);
    const pause = bar(page).getByRole("button", { name: "Pause 1 job" });
    await pause.click();
    const dialog = page.getByRole("dialog", { name: "Pause 1 job?" });
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /1 job of the selection cannot be paused and is left alone/);
    assert.deepEqual(await axe(page, { include: "dialog[open]" }), [], "axe: the bulk dialog");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await eventually(() => pause.evaluate((b) => b === document.activeElement), 5000, "focus back on Pause 1");
    assert.deepEqual(calls.filter((c) => c.path === "/v1/jobs/batch"), []);
    await bar(page).getByRole("button", { name: "Clear selection" }).click();
    await bar(page).getByText("No jobs selected").waitFor();
    assert.equal(await row(page, running.jobId).getAttribute("data-status"), "RUNNING");
  });
});

test("a bulk retry of 10 failed jobs takes one confirmation and one batch call and makes 10 new jobs", async () => {
  await withBrowser(async ({ page }) => {
    const calls = recordCalls(page);
    await page.goto(`${server.url}/jobs?view=history&status=FAILED&q=bulk-fail-`);
    await row(page, failed[0]).waitFor();
    await bar(page).getByRole("button", { name: "Select all matching this filter" }).click();
    await bar(page).getByText("All 10 jobs matching this filter selected").waitFor();
    assert.deepEqual(await bar(page).locator("[data-bulk-action]").allTextContents(), ["Retry 10"]);
    await bar(page).getByRole("button", { name: "Retry 10 jobs" }).click();
    const dialog = page.getByRole("dialog", { name: "Retry 10 jobs?" });
    await dialog.getByLabel(/Reason/).fill("list fixed");
    await dialog.getByRole("button", { name: "Retry 10 jobs" }).click();
    await bar(page).getByText("Retried 10 of 10 jobs.").waitFor();
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, "list-bulk.png"), animations: "disabled" });
    assert.equal(calls.filter((c) => c.path === "/v1/jobs/batch").length, 1, "one batch call");
    const queued = await action(server.url, "GET", "/v1/jobs?scope=active&q=bulk-fail-&limit=100");
    assert.equal(queued.body.jobs.length, 10, "10 new jobs");
    assert.ok(queued.body.jobs.every((j) => j.status === "QUEUED" && !failed.includes(j.$id)));
  });
});

test("a job that can no longer take the action is reported by name with the API's reason", async () => {
  await withBrowser(async ({ page }) => {
    const a = await worker(server.url, "CAMPAIGN_RUN", "bulk-pause-a", { total: 10 });
    const b = await worker(server.url, "CAMPAIGN_RUN", "bulk-pause-b", { total: 10 });
    await page.goto(`${server.url}/jobs?q=bulk-pause-`);
    for (const w of [a, b]) await row(page, w.jobId).getByRole("checkbox").check();
    await bar(page).getByRole("button", { name: "Pause 2 jobs" }).click();
    const dialog = page.getByRole("dialog", { name: "Pause 2 jobs?" });
    await dialog.waitFor();
    // While the dialog is open, one of them finishes: the batch still names both.
    await b.complete({});
    await dialog.getByRole("button", { name: "Pause 2 jobs" }).click();
    const outcome = bar(page).locator(".bulk-outcome.has-failures");
    await outcome.waitFor();
    assert.match(await outcome.textContent(), /Pause requested for 1 of 2 jobs\. 1 failed:/);
    assert.match(await outcome.locator(`li[data-id="${b.jobId}"]`).textContent(), /^Campaign run bulk-pause-b: /);
    await eventually(async () => (await row(page, a.jobId).getAttribute("data-status")) === "PAUSED", 8000, "the paused row");
  });
});

test("a viewer sees no checkboxes and no bulk actions", async () => {
  const viewer = await startServer({ role: "viewer" });
  try {
    const w = await worker(viewer.url, "BULK_VERIFY", "bulk-viewer", { total: 10 });
    await w.fail("nope");
    await withBrowser(async ({ page }) => {
      await page.goto(`${viewer.url}/jobs`);
      await row(page, w.jobId).waitFor();
      assert.equal(await page.getByRole("checkbox").count(), 0);
      assert.equal(await page.getByRole("region", { name: "Bulk actions" }).count(), 0);
      assert.equal(await page.locator("th.c-select").count(), 0);
    });
  } finally {
    await viewer.stop();
  }
});
