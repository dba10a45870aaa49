// Filters that explain themselves (issue 28 item 7): values in the URL the view cannot use are
// named and cleared (controls and address agree), a reversed date range is flagged and nothing is
// asked, a request the API refuses shows the API's message as an error, never "No jobs match".
// On a 390 px phone the form folds behind a "Filters (n)" toggle. axe-core in both themes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, withBrowser, worker, row, axe, recordCalls, settle, screenshots } from "./harness.mjs";

let server;
let job;
before(async () => {
  server = await startServer();
  job = await worker(server.url, "CAMPAIGN_RUN", "filters-camp", { total: 10 });
});
after(async () => {
  await server?.stop();
});

test("unknown values in the URL are named, cleared from the controls and the address, and every job shows", async () => {
  await withBrowser(async ({ page }) => {
    await page.goto(`${server.url}/jobs?type=FOO&status=BAR&from=notadate`);
    const notes = page.locator('[data-part="filter-notes"]');
    await notes.waitFor();
    assert.deepEqual(await notes.locator("li").evaluateAll((li) => li.map((n) => n.dataset.field)), ["type", "status", "from"]);
    assert.match(await notes.textContent(), /Unknown type “FOO”.*Unknown status “BAR”.*“notadate” is not a date/s);
    await row(page, job.jobId).waitFor();
    assert.equal(new URL(page.url()).search, "", "the address holds no value the controls do not show");
    assert.equal(await page.getByLabel("Type", { exact: true }).inputValue(), "");
    assert.equal(await page.getByLabel("Status", { exact: true }).inputValue(), "");
    assert.equal(await page.getByLabel("Updated from").inputValue(), "");
    assert.equal(await page.getByText("No jobs match").count(), 0);
    assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the cleared filters, light");
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, "filters-cleared.png"), animations: "disabled" });
  });
  await withBrowser(async ({ page }) => {
    await page.goto(`${server.url}/jobs?type=FOO&q=filters-`);
    await page.locator('[data-part="filter-notes"]').waitFor();
    assert.equal(new URL(page.url()).search, "?q=filters-", "a valid filter stays");
    await row(page, job.jobId).waitFor();
    assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the cleared filters, dark");
  }, { colorScheme: "dark" });
});

test("a reversed date range is flagged on both dates and nothing is asked", async () => {
  await withBrowser(async ({ page }) => {
    const calls = recordCalls(page);
    await page.goto(`${server.url}/jobs?from=2026-03-10&to=2026-03-01`);
    const error = page.locator("#f-range-error");
    await error.waitFor();
    assert.match(await error.textContent(), /reversed/);
    for (const label of ["Updated from", "Updated to"]) {
      const input = page.getByLabel(label);
      assert.equal(await input.getAttribute("aria-invalid"), "true", label);
      assert.equal(await input.getAttribute("aria-describedby"), "f-range-error", label);
    }
    await page.locator(".table-wrap [role=alert]", { hasText: "date range is reversed" }).waitFor();
    assert.equal(await page.getByText("No jobs match").count(), 0);
    await settle(page);
    assert.deepEqual(calls.filter((c) => c.path && c.path.startsWith("/v1/jobs?")), [], "no list request");
    assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the reversed range");
  });
});

test("a search the API refuses shows the API's message as an error", async () => {
  await withBrowser(async ({ page }) => {
    // Refused by job-actions (300 characters), and by Appwrite itself before it (5,000: the
    // execution's `path` is at most 2,048 characters).
    for (const [q, message] of [["x".repeat(300), /The server refused these filters: `q` is longer than 255 characters/], ["x".repeat(5000), /The server refused these filters: .*2048/]]) {
      await page.goto(`${server.url}/jobs?q=${q}`);
      const alert = page.locator(".table-wrap .state.error[role=alert]");
      await alert.waitFor();
      assert.match(await alert.textContent(), message);
      assert.equal(await page.getByText("No jobs match").count(), 0);
    }
  });
});

test("on a 390 px phone the filters fold behind a toggle that counts them", async () => {
  await withBrowser(async ({ page }) => {
    await page.goto(`${server.url}/jobs?type=CAMPAIGN_RUN&q=filters-`);
    await row(page, job.jobId).waitFor();
    const toggle = page.getByRole("button", { name: "Filters (2)" });
    await toggle.waitFor();
    assert.equal(await toggle.getAttribute("aria-expanded"), "false");
    const form = page.getByRole("search", { name: "Filter jobs" });
    assert.equal(await form.isVisible(), false, "folded");
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, "filters-phone.png"), animations: "disabled" });
    const folded = await page.locator(".filter-box").evaluate((n) => n.getBoundingClientRect().height);
    assert.ok(folded < 60, `the folded filters take ${folded} px`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling (overflow ${overflow} px): the chips scroll in their own row`);
    await toggle.click();
    await form.waitFor();
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    assert.equal(await page.getByLabel("Reference or job id").inputValue(), "filters-");
    assert.deepEqual(await axe(page, { include: "main" }), [], "axe: the phone's filters");
  }, { viewport: { width: 390, height: 844 } });
});
